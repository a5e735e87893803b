#!/usr/bin/env bash
# Still variants against eleventy-img (@11ty/eleventy-img, sharp/libvips), on
# the same synth frames: WebP at 240 and 480 px and the source's width.
#
#   benches/stills_compare.sh [PAGES] [SIZE]      (default 4 pages x 16 frames of 600 px)
#   TARGET=0.985 benches/stills_compare.sh        (the SSIM assetmill's second run aims at)
#
# Rows: eleventy-img at its WebP quality 80; assetmill at `quality: 80`; and
# assetmill at `quality: {ssim: TARGET}` (each variant the smallest file
# reaching it). Bytes are summed over every variant; SSIM is ffmpeg's `ssim`
# filter (all planes) of each variant against the source frame scaled to the
# variant's size with Lanczos, averaged; CPU is user+sys seconds of the
# process (eleventy-img) or, for assetmill, of the stages that make variants
# (decode, resize, still) from its JSON summary, since its build also makes
# the other outputs. Installs eleventy-img with npm into a temporary folder
# (needs node >= 18 and npm); needs ffmpeg, bc, python3 and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-4}
size=${2:-600}
target=${TARGET:-0.985}
for tool in node npm ffmpeg bc python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "needs $tool"; exit 2; }
done
cargo build --release --quiet --bin assetmill
bin="$(pwd)/target/release/assetmill"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm install --silent --no-audit --no-fund --prefix "$work/npm" @11ty/eleventy-img >/dev/null
version=$(node -p "require('$work/npm/node_modules/@11ty/eleventy-img/package.json').version")
"$bin" synth "$work/site" --pages "$pages" --frames 16 --size "$size" --quiet >/dev/null
src="$work/site/assets/muscles/png"

# eleventy-img: every frame, the same widths, WebP only.
cat > "$work/eleventy.js" <<'JS'
const Image = require("@11ty/eleventy-img");
const path = require("path");
const [outDir, ...files] = process.argv.slice(2);
Promise.all(files.map((f) => Image(f, {
  widths: [240, 480, "auto"],
  formats: ["webp"],
  outputDir: outDir,
  sharpWebpOptions: { quality: 80 },
  filenameFormat: (id, src, width, format) => `${path.basename(src, ".png")}-${width}.${format}`,
}))).catch((e) => { console.error(e); process.exit(1); });
JS
mkdir -p "$work/eleventy"
NODE_PATH="$work/npm/node_modules" /usr/bin/time -f "%e %U %S" -o "$work/eleventy.time" \
  node "$work/eleventy.js" "$work/eleventy" "$src"/*.png
read -r e_wall e_user e_sys < "$work/eleventy.time"

# assetmill: variants only of interest; no videos.
build() { # quality-yaml label
  printf 'video:\n  formats: []\nstills:\n  roles: [gallery]\n  widths: [240, 480]\n  formats: [webp]\n  quality: %s\n' "$1" \
    > "$work/site/assetmill.yml"
  rm -rf "$work/site/out"
  (cd "$work/site" && /usr/bin/time -f "%e" -o "$work/am.time" "$bin" build --quiet --format json > "$work/am.json")
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]["stages"]; print("%.2f" % (s["decode"]+s["resize"]+s["still"]))' "$work/am.json"
}

# Mean SSIM and total bytes of the WebPs in $1, each against its source.
score() { # dir name-of-source-from-variant
  local sum=0 n=0 total=0 f s w h base
  for f in "$1"/*.webp; do
    base=$(basename "$f" .webp)
    base=${base%-*}
    read -r w h < <(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$f" | tr x ' ')
    s=$(ffmpeg -nostdin -v error -i "$f" -i "$src/$base.png" \
      -lavfi "[1]scale=$w:$h:flags=lanczos,format=yuv420p[r];[0]format=yuv420p[v];[v][r]ssim=stats_file=-" \
      -f null - 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^All:/) { split($i, a, ":"); print a[2] } }')
    sum=$(echo "$sum + $s" | bc -l); n=$((n + 1)); total=$((total + $(stat -c %s "$f")))
  done
  printf '%s %.4f %s' "$total" "$(echo "$sum / $n" | bc -l)" "$n"
}

echo "corpus: $pages pages x 16 frames of ${size}px (synth), $(nproc) cores; eleventy-img $version"
printf '\n| tool | quality | variants | bytes | mean SSIM | CPU s | wall s |\n| --- | --- | --- | --- | --- | --- | --- |\n'
read -r b s n <<< "$(score "$work/eleventy")"
printf '| eleventy-img (sharp) | 80 | %s | %s | %s | %.2f | %s |\n' "$n" "$b" "$s" "$(echo "$e_user + $e_sys" | bc -l)" "$e_wall"
e_bytes=$b
for q in 80 "{ssim: $target}"; do
  cpu=$(build "$q")
  wall=$(cat "$work/am.time")
  mkdir -p "$work/am"; rm -f "$work/am"/*.webp
  cp "$work/site/out/muscles/png/"*.webp "$work/am/"
  read -r b s n <<< "$(score "$work/am")"
  printf '| assetmill (libwebp) | %s | %s | %s (%sx) | %s | %s (variant stages) | %s (whole build) |\n' \
    "$q" "$n" "$b" "$(echo "scale=3; $b / $e_bytes" | bc -l)" "$s" "$cpu" "$wall"
done
