#!/usr/bin/env bash
# Still variants against eleventy-img (@11ty/eleventy-img, sharp/libvips), on
# the same synth frames: WebP at 240 and 480 px and the source's width.
#
#   benches/stills_compare.sh [PAGES] [SIZE]      (default 4 pages x 16 frames of 600 px per scene)
#   SCENES="muscle objects fibres" ...            (synth scenes, PAGES pages of each; default muscle)
#   TARGET=0.985 ...                              (the SSIM assetmill's target runs aim at)
#   AVIF=1 ...                                    (also assetmill's AVIF at the target; slow without
#                                                  `--features asm`: FEATURES=asm builds with it)
#
# Rows: eleventy-img at its WebP quality 80; assetmill at `quality: 80`; and
# assetmill at `quality: {ssim: TARGET}` (each variant the smallest file
# reaching it). Bytes are summed over every variant; SSIM is ffmpeg's `ssim`
# filter (all planes) of each variant against the source frame scaled to the
# variant's size with Lanczos, averaged (ffmpeg 5 reads no AVIF, so the AVIF
# row has only assetmill's own figure); "own SSIM" is the mean of the asset
# map's figures (luma). CPU is user+sys seconds of the process
# (eleventy-img) or, for assetmill, of the stages that make variants
# (decode, resize, still) from its JSON summary, since its build also makes
# the other outputs. Installs eleventy-img with npm into a temporary folder
# (needs node >= 18 and npm); needs ffmpeg, bc, python3 and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-4}
size=${2:-600}
target=${TARGET:-0.985}
scenes=${SCENES:-muscle}
for tool in node npm ffmpeg bc python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "needs $tool"; exit 2; }
done
cargo build --release --quiet --bin assetmill ${FEATURES:+--features "$FEATURES"}
bin="$(pwd)/target/release/assetmill"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm install --silent --no-audit --no-fund --prefix "$work/npm" @11ty/eleventy-img >/dev/null
version=$(node -p "require('$work/npm/node_modules/@11ty/eleventy-img/package.json').version")
seed=1
for scene in $scenes; do
  "$bin" synth "$work/$scene" --pages "$pages" --frames 16 --size "$size" --scene "$scene" --seed "$seed" --quiet >/dev/null
  seed=$((seed + 1))
done
src() { echo "$work/$1/assets/muscles/png"; }

# eleventy-img: every frame, the same widths, WebP only; one run per scene.
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
e_wall=0 e_cpu=0
for scene in $scenes; do
  mkdir -p "$work/eleventy/$scene"
  NODE_PATH="$work/npm/node_modules" /usr/bin/time -f "%e %U %S" -o "$work/eleventy.time" \
    node "$work/eleventy.js" "$work/eleventy/$scene" "$(src "$scene")"/*.png
  read -r w u s < "$work/eleventy.time"
  e_wall=$(echo "$e_wall + $w" | bc -l); e_cpu=$(echo "$e_cpu + $u + $s" | bc -l)
done

# assetmill: variants only; no videos. Prints "cpu wall own-ssim" summed
# (mean) over the scenes and leaves the variants in $work/am/<scene>.
build() { # quality-yaml format
  local cpu=0 wall=0 own="" scene
  for scene in $scenes; do
    printf 'video:\n  formats: []\nstills:\n  roles: [gallery]\n  widths: [240, 480]\n  formats: [%s]\n  quality: %s\n' "$2" "$1" \
      > "$work/$scene/assetmill.yml"
    rm -rf "$work/$scene/out"
    (cd "$work/$scene" && /usr/bin/time -f "%e" -o "$work/am.time" "$bin" build --quiet --format json > "$work/am.json")
    cpu=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]["stages"]; print(float(sys.argv[2]) + s["decode"]+s["resize"]+s["still"])' "$work/am.json" "$cpu")
    wall=$(echo "$wall + $(cat "$work/am.time")" | bc -l)
    own="$own $(python3 -c 'import json,sys
m=json.load(open(sys.argv[1]))
print(" ".join(str(o["ssim"]) for a in m["assets"].values() for o in a["outputs"] if o["role"]=="still"))' "$work/$scene/out/assets.json")"
    mkdir -p "$work/am/$scene"; rm -f "$work/am/$scene"/*
    cp "$work/$scene/out/muscles/png/"*."$2" "$work/am/$scene/"
  done
  printf '%.2f %.2f %s' "$cpu" "$wall" "$(echo "$own" | python3 -c 'import sys; v=[float(x) for x in sys.stdin.read().split()]; print("%.4f" % (sum(v)/len(v)))')"
}

# Mean SSIM and total bytes of the WebPs under $1/<scene>, each against its source.
score() { # dir
  local sum=0 n=0 total=0 f s w h base scene
  for scene in $scenes; do
    for f in "$1/$scene"/*.webp; do
      base=$(basename "$f" .webp)
      base=${base%-*}
      read -r w h < <(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$f" | tr x ' ')
      s=$(ffmpeg -nostdin -v error -i "$f" -i "$(src "$scene")/$base.png" \
        -lavfi "[1]scale=$w:$h:flags=lanczos,format=yuv420p[r];[0]format=yuv420p[v];[v][r]ssim=stats_file=-" \
        -f null - 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^All:/) { split($i, a, ":"); print a[2] } }')
      sum=$(echo "$sum + $s" | bc -l); n=$((n + 1)); total=$((total + $(stat -c %s "$f")))
    done
  done
  printf '%s %.4f %s' "$total" "$(echo "$sum / $n" | bc -l)" "$n"
}

echo "corpus: $pages pages x 16 frames of ${size}px per scene ($scenes, synth), $(nproc) cores; eleventy-img $version"
printf '\n| tool | format | quality | variants | bytes | SSIM (ffmpeg) | own SSIM | CPU s | wall s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
read -r b s n <<< "$(score "$work/eleventy")"
printf '| eleventy-img (sharp) | webp | 80 | %s | %s | %s | | %.2f | %.2f |\n' "$n" "$b" "$s" "$e_cpu" "$e_wall"
e_bytes=$b
runs=("webp|80" "webp|{ssim: $target}")
[ -n "${AVIF:-}" ] && runs+=("avif|{ssim: $target}")
for run in "${runs[@]}"; do
  format=${run%%|*} q=${run#*|}
  read -r cpu wall own <<< "$(build "$q" "$format")"
  if [ "$format" = webp ]; then
    read -r b s n <<< "$(score "$work/am")"
  else
    b=$(cat "$work"/am/*/*."$format" | wc -c); s="-"; n=$(ls "$work"/am/*/*."$format" | wc -l)
  fi
  printf '| assetmill | %s | %s | %s | %s (%sx) | %s | %s | %s (variant stages) | %s (whole build) |\n' \
    "$format" "$q" "$n" "$b" "$(echo "scale=3; $b / $e_bytes" | bc -l)" "$s" "$own" "$cpu" "$wall"
done
