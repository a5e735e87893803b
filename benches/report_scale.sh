#!/usr/bin/env bash
# How fast the review report opens for a site the size of the real atlas:
#
#   benches/report_scale.sh [PAGES] [SIZE]
#
# Synthesizes PAGES muscle pages (default 230) x 16 frames of SIZE px
# (default 96; the report's cost is in its elements, not in the pixels),
# adds an overview page reusing each muscle's frames and GIF, builds, and
# opens out/.assetmill/report.html in headless Chromium, which reports when
# the DOM was ready, the load event, the first paint (ms since navigation)
# and how many files it fetched before the load event. Needs `chromium`.
# The measurement is benches/report_scale.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE_PAGES=${1:-230} SCALE_SIZE=${2:-96} \
  cargo bench --quiet -p assetmill-benches --bench report_scale 2>&1 |
  grep -E '^(build|report|chromium):'
