#!/usr/bin/env bash
# Do two assetmill binaries write the same bytes? For refactors that must
# not change any output:
#
#   benches/identical.sh OLD_BINARY NEW_BINARY
#
# Each binary builds the bundled sample and a synth site (8 pages x 16
# frames of 600 px) in a temp folder; the two out/ trees are compared byte
# for byte, cache.json included. Only what is expected to differ between
# any two runs is left out: `.assetmill/lock` (the last run's process id)
# and the review report's wall and CPU-second figures.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for side in old new; do
  bin=$([ $side = old ] && echo "$1" || echo "$2")
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  mkdir -p "$work/$side/sample"
  cp -a "$repo/content" "$repo/assets" "$repo/assetmill.yml" "$work/$side/sample/"
  (cd "$work/$side/sample" && "$bin" build -q >/dev/null) || true
  "$bin" synth --pages 8 --frames 16 --size 600 -q "$work/$side/synth" >/dev/null
  (cd "$work/$side/synth" && "$bin" build -q >/dev/null) || true
  for site in sample synth; do
    rm -f "$work/$side/$site/out/.assetmill/lock"
    report="$work/$side/$site/out/.assetmill/report.html"
    [ -f "$report" ] && sed -i -E 's#<td class="n">[0-9.]+ s</td>#<td class="n">S</td>#; s#(<dt>Wall time</dt><dd>)[0-9.]+ s#\1S#' "$report"
  done
done
status=0
for site in sample synth; do
  if diff -r "$work/old/$site/out" "$work/new/$site/out" >/dev/null; then
    echo "$site: identical ($(find "$work/new/$site/out" -type f | wc -l) files)"
  else
    echo "$site: DIFFERENT"; diff -rq "$work/old/$site/out" "$work/new/$site/out" || true; status=1
  fi
done
exit $status
