#!/usr/bin/env bash
# The video encoders' curves on one synth corpus, beside the widely used
# ffmpeg recipe on the same frames (flattened on white, 480 px wide, 10 fps):
#
#   benches/video_curve.sh [PAGES] [SIZE]     (default 2 pages x 16 frames of 480 px)
#   FEATURES=asm benches/video_curve.sh       (rav1e with its assembly; needs nasm)
#   SPEEDS="6 7 8 9 10" QUANTIZERS="90 110 130" QPS="24 26 28" benches/video_curve.sh
#   SCENE=fibres benches/video_curve.sh 2 600  (synth's scene: muscle, objects or fibres)
#
# For each AV1 speed preset x quantizer and each H.264 qp: total bytes, mean
# SSIM (ffmpeg's ssim filter, all planes) against the source frames, and the
# CPU seconds of assetmill's video stage (--jobs 1); for assetmill's rows also
# the mean of the SSIM it measured itself (luma, as the asset map reports it). At the default 480 px
# nobody resizes, so both sides encode exactly the same frames and SSIM
# measures only the codecs (at other sizes each side uses its own resizer). Needs ffmpeg with libx264 and libvpx-vp9 for the
# recipe rows and for SSIM, and bc.
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-2}
size=${2:-480}
speeds=${SPEEDS:-6 7 8 9 10}
quantizers=${QUANTIZERS:-100 120 140 160}
qps=${QPS:-18 20 22 24 26 28}
features=()
target=target
if [ -n "${FEATURES:-}" ]; then features=(--features "$FEATURES"); target=target/features-$FEATURES; fi
cargo build --release --quiet --bin assetmill --target-dir "$target" "${features[@]}"
bin="$(pwd)/$target/release/assetmill"
for tool in ffmpeg bc /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool"; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scene=${SCENE:-muscle}
"$bin" synth "$work/site" --pages "$pages" --frames 16 --size "$size" --scene "$scene" --quiet >/dev/null
cd "$work/site"
names=$(ls assets/muscles/png | sed -E 's/-[0-9]+\.png$//' | sort -u)

# Mean SSIM ("All") of a video against its page's source frames.
ssim() { # video name
  ffmpeg -nostdin -v error -i "$1" -framerate 10 -start_number 1 -i "assets/muscles/png/$2-%d.png" \
    -lavfi "[1]scale=$(( size < 480 ? size : 480 )):-2:flags=lanczos,format=yuv420p[ref];[0]format=yuv420p[v];[v][ref]ssim=stats_file=-" \
    -f null - 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^All:/) { split($i, a, ":"); s += a[2]; n++ } }
      END { printf "%.4f", s / n }'
}
# Mean SSIM and total bytes over every page's video with extension $1 in $2.
score() { # ext dir
  local total=0 sum=0 n=0 s
  while read -r name; do
    f="$2/$name.$1"
    total=$((total + $(stat -c %s "$f")))
    s=$(ssim "$f" "$name"); sum=$(echo "$sum + $s" | bc -l); n=$((n + 1))
  done <<< "$names"
  printf '%s %.4f' "$total" "$(echo "$sum / $n" | bc -l)"
}

echo "corpus: $pages pages x 16 frames of ${size}px (synth, $scene), videos 480 px wide; rav1e assembly: ${FEATURES:-no}"
mkdir -p recipe
vp9_cpu=0; x264_cpu=0
while read -r name; do
  for spec in "webm libvpx-vp9 -b:v 0 -crf 41" "mp4 libx264 -crf 25 -movflags +faststart"; do
    set -- $spec
    ext=$1; codec=$2; shift 2
    t=$( { /usr/bin/time -f %U ffmpeg -nostdin -v error -y -framerate 10 -start_number 1 \
      -i "assets/muscles/png/$name-%d.png" -vf "scale=480:-2:flags=lanczos" \
      -c:v "$codec" "$@" -pix_fmt yuv420p -threads 1 "recipe/$name.$ext"; } 2>&1 | tail -1)
    if [ "$ext" = webm ]; then vp9_cpu=$(echo "$vp9_cpu + $t" | bc -l); else x264_cpu=$(echo "$x264_cpu + $t" | bc -l); fi
  done
done <<< "$names"
printf '\n| encoder | setting | bytes | mean SSIM | own SSIM | CPU s |\n| --- | --- | --- | --- | --- | --- |\n'
read -r b s <<< "$(score webm recipe)"; printf '| ffmpeg VP9 (recipe) | crf 41 | %s | %s | | %s |\n' "$b" "$s" "$vp9_cpu"
read -r b s <<< "$(score mp4 recipe)"; printf '| ffmpeg x264 (recipe) | crf 25 | %s | %s | | %s |\n' "$b" "$s" "$x264_cpu"

# Mean of the SSIM assetmill measured itself for each video with extension $1.
own() { # ext
  python3 -c 'import json, sys
v = [o["ssim"] for a in json.load(open("out/assets.json"))["assets"].values()
     for o in a["outputs"] if o["path"].endswith("." + sys.argv[1])]
print("%.4f" % (sum(v) / len(v)))' "$1"
}
run() { # format yaml-fragment setting label
  printf 'video:\n  formats: [%s]\n' "$1" > conf.yml
  printf "$2" >> conf.yml
  rm -rf out
  read -r cpu own <<< "$("$bin" --config conf.yml --content content --images assets --out out build --quiet \
    --jobs 1 --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["stages"]["video"])'
    ) $(own "$1")"
  read -r b s <<< "$(score "$1" out/muscles/gif)"
  printf '| %s | %s | %s | %s | %s | %.2f |\n' "$4" "$3" "$b" "$s" "$own" "$cpu"
}
for speed in $speeds; do
  for q in $quantizers; do
    run webm "  av1:\n    speed: $speed\n    quantizer: $q\n" "speed $speed, quantizer $q" "assetmill AV1 (rav1e)"
  done
done
for qp in $qps; do
  run mp4 "  h264:\n    qp: $qp\n" "qp $qp" "assetmill H.264 (OpenH264)"
done
