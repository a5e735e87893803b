#!/usr/bin/env bash
# GIF quality and size: assetmill's GIFs against gifski's for the same frames.
#
#   benches/gif_quality.sh [--alpha] [--scene muscle|objects] [PAGES] [SIZE]
#
# Makes a synth corpus (PAGES pages x 16 frames of SIZE px, default 8 x 600;
# `--scene objects`: several glossy objects with fine specular detail),
# builds it, then for every animation reports bytes and mean SSIM (decoded
# frames vs. the source frames Lanczos-resized to the GIF's size) of
# assetmill's GIF and of `gifski --fps 10 --width 480` (if installed:
# `cargo install gifski`). Installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
alpha=""; scene=muscle
while [ $# -gt 0 ]; do
  case "$1" in
    --alpha) alpha="--alpha"; shift ;;
    --scene) scene=$2; shift 2 ;;
    *) break ;;
  esac
done
pages=${1:-8}
size=${2:-600}
cargo build --release --quiet -p assetmill --bin assetmill -p assetmill-benches --bin gif_quality
bin=target/release/assetmill
quality=target/release/gif_quality
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$bin synth "$work/site" --pages "$pages" --frames 16 --size "$size" --scene "$scene" $alpha --quiet >/dev/null
(cd "$work/site" && "$OLDPWD/$bin" build --quiet >/dev/null)
have_gifski=$(command -v gifski || true)
total_am=0; total_gs=0; ssim_am=0; ssim_gs=0; n=0
for gif in "$work"/site/out/muscles/gif/*[^e].gif; do
  name=$(basename "$gif" .gif)
  frames=()
  for i in $(seq 1 16); do frames+=("$work/site/assets/muscles/png/$name-$i.png"); done
  am=$($quality "$gif" "${frames[@]}")
  am_bytes=$(echo "$am" | sed -E 's/.* ([0-9]+) bytes.*/\1/'); am_ssim=${am##* }
  line="$name: assetmill $am_bytes B, SSIM $am_ssim"
  total_am=$((total_am + am_bytes)); ssim_am=$(echo "$ssim_am + $am_ssim" | bc -l)
  if [ -n "$have_gifski" ]; then
    gifski --quiet --fps 10 --width 480 -o "$work/gs.gif" "${frames[@]}"
    gs=$($quality "$work/gs.gif" "${frames[@]}")
    gs_bytes=$(echo "$gs" | sed -E 's/.* ([0-9]+) bytes.*/\1/'); gs_ssim=${gs##* }
    line="$line | gifski $gs_bytes B, SSIM $gs_ssim"
    total_gs=$((total_gs + gs_bytes)); ssim_gs=$(echo "$ssim_gs + $gs_ssim" | bc -l)
  fi
  echo "$line"
  n=$((n + 1))
done
printf 'total: assetmill %d B, mean SSIM %.5f' "$total_am" "$(echo "$ssim_am / $n" | bc -l)"
if [ -n "$have_gifski" ]; then
  printf ' | gifski %d B, mean SSIM %.5f | bytes ratio %.3f' "$total_gs" "$(echo "$ssim_gs / $n" | bc -l)" \
    "$(echo "$total_am / $total_gs" | bc -l)"
fi
echo
