#!/usr/bin/env bash
# assetmill against the usual tool chain, on the same synth corpus, in one run.
#
#   benches/compare.sh [PAGES] [SIZE]        (default 8 pages x 16 frames of 600 px)
#   CONFIG=file.yml benches/compare.sh        (assetmill runs with --config file.yml)
#   FEATURES=asm benches/compare.sh           (rav1e with its assembly; needs nasm)
#   SCENE=fibres benches/compare.sh           (synth's scene: muscle, objects or fibres)
#
# Times (wall, peak RSS via /usr/bin/time -v) and sizes:
#   - assetmill cold build (--jobs 2), warm rebuild, and a cold build with --jobs 1;
#   - a cold build of a corpus 4x larger (memory must not grow with the site);
#   - the chain, pages two at a time (xargs -P 2), for each page:
#       vipsthumbnail --size 256x            thumbnails
#       oxipng -o 2 --strip safe             frames, thumbnails, sprites
#       gifski --fps 10 --width 480          the GIF
#       vips arrayjoin --across 4            the sprite sheet
#       ffmpeg -c:v libx264 -crf 25 -pix_fmt yuv420p -movflags +faststart    the MP4
#       ffmpeg -c:v libvpx-vp9 -b:v 0 -crf 41                                 the WebM
#     (the videos from the frames flattened on white, 480 px wide, 10 fps);
#   - mean SSIM of each GIF and video (ffmpeg's ssim filter) against the source
#     frames scaled to 480 px with Lanczos.
# Installs nothing: peers missing from PATH are reported and their step skipped
# (see README: apt-get install libvips-tools ffmpeg time bc; cargo install oxipng gifski).
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-8}
size=${2:-600}
frames=16
root=$(pwd)
target=target
features=()
if [ -n "${FEATURES:-}" ]; then features=(--features "$FEATURES"); target=target/features-$FEATURES; fi
bin="$root/$target/release/assetmill"
config=()
if [ -n "${CONFIG:-}" ]; then config=(--config "$(realpath "$CONFIG")"); fi
cargo build --release --quiet --bin assetmill --target-dir "$target" "${features[@]}"
for tool in /usr/bin/time bc; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install time bc)"; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# wall seconds and peak RSS (MB) of a command: sets $wall and $rss
measure() {
  /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt" || {
    cat "$work/stderr.txt"; return 1; }
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
           for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$work/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$work/time.txt")
}
bytes() { find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
ratio() { echo "scale=3; $1 / $2" | bc -l; }

scene=${SCENE:-muscle}
echo "corpus: $pages pages x $frames frames of ${size}px (synth, $scene), $(nproc) cores; rav1e assembly: ${FEATURES:-no}"
"$bin" synth "$work/site" --pages "$pages" --frames "$frames" --size "$size" --scene "$scene" --quiet >/dev/null
site="$work/site"

cd "$site"
measure "$bin" "${config[@]}" --content content --images assets --out out build --quiet
am_wall=$wall; am_rss=$rss
measure "$bin" "${config[@]}" --content content --images assets --out out build --quiet
warm_wall=$wall
rm -rf out
measure "$bin" "${config[@]}" --content content --images assets --out out build --quiet --jobs 1
j1_wall=$wall
cd "$root"
am_frames=$(bytes "$site/out/muscles/png" -name '*[0-9].png')
am_thumbs=$(bytes "$site/out/muscles/png" -name '*-thumb.png')
am_gifs=$(bytes "$site/out/muscles/gif" -name '*.gif')
am_sprites=$(bytes "$site/out/muscles/gif" -name '*-sprite.png')
am_webm=$(bytes "$site/out/muscles/gif" -name '*.webm')
am_mp4=$(bytes "$site/out/muscles/gif" -name '*.mp4')

big=$((pages * 4))
"$bin" synth "$work/big" --pages "$big" --frames "$frames" --size "$size" --scene "$scene" --quiet >/dev/null
(cd "$work/big" && measure "$bin" "${config[@]}" --content content --images assets --out out build --quiet &&
  echo "$wall $rss" > "$work/big.txt")
read -r big_wall big_rss < "$work/big.txt"

# The chain, one page per job, two jobs at a time.
chain="$work/chain"
mkdir -p "$chain/muscles/png" "$chain/muscles/gif"
missing=()
for tool in vipsthumbnail vips oxipng gifski ffmpeg; do command -v "$tool" >/dev/null || missing+=("$tool"); done
cat > "$work/page.sh" <<'PAGE'
#!/usr/bin/env bash
set -euo pipefail
name=$1; src=$2; out=$3; frames=$4
list=(); thumbs=()
for i in $(seq 1 "$frames"); do list+=("$src/$name-$i.png"); thumbs+=("$out/muscles/png/$name-$i-thumb.png"); done
cp "${list[@]}" "$out/muscles/png/"
if command -v vipsthumbnail >/dev/null; then
  vipsthumbnail "${list[@]}" --size 256x -o "$out/muscles/png/%s-thumb.png"
fi
if command -v vips >/dev/null && command -v vipsthumbnail >/dev/null; then
  vips arrayjoin "${thumbs[*]}" "$out/muscles/gif/$name-sprite.png" --across 4
fi
if command -v oxipng >/dev/null; then
  oxipng -q -o 2 --strip safe "$out/muscles/png/$name"-*.png $(ls "$out/muscles/gif/$name-sprite.png" 2>/dev/null)
fi
if command -v gifski >/dev/null; then
  gifski --quiet --fps 10 --width 480 -o "$out/muscles/gif/$name.gif" "${list[@]}"
fi
if command -v ffmpeg >/dev/null; then
  flat=(-framerate 10 -start_number 1 -i "$src/$name-%d.png" -filter_complex
        "color=white,format=rgb24[bg];[bg][0]scale2ref[bg][v];[bg][v]overlay=shortest=1,scale=480:-2:flags=lanczos")
  ffmpeg -nostdin -v error -y "${flat[@]}" -c:v libx264 -crf 25 -pix_fmt yuv420p -movflags +faststart \
    "$out/muscles/gif/$name.mp4"
  ffmpeg -nostdin -v error -y "${flat[@]}" -c:v libvpx-vp9 -b:v 0 -crf 41 -pix_fmt yuv420p \
    "$out/muscles/gif/$name.webm"
fi
PAGE
chmod +x "$work/page.sh"
names=$(ls "$site/assets/muscles/png" | sed -E 's/-[0-9]+\.png$//' | sort -u)
echo "$names" > "$work/names.txt"
measure bash -c "xargs -P 2 -I{} '$work/page.sh' {} '$site/assets/muscles/png' '$chain' $frames < '$work/names.txt'"
ch_wall=$wall; ch_rss=$rss
ch_frames=$(bytes "$chain/muscles/png" -name '*[0-9].png')
ch_thumbs=$(bytes "$chain/muscles/png" -name '*-thumb.png')
ch_gifs=$(bytes "$chain/muscles/gif" -name '*.gif')
ch_sprites=$(bytes "$chain/muscles/gif" -name '*-sprite.png')
ch_webm=$(bytes "$chain/muscles/gif" -name '*.webm')
ch_mp4=$(bytes "$chain/muscles/gif" -name '*.mp4')
am_total=$((am_frames + am_thumbs + am_gifs + am_sprites + am_webm + am_mp4))
ch_total=$((ch_frames + ch_thumbs + ch_gifs + ch_sprites + ch_webm + ch_mp4))

# Mean SSIM over pages of the videos with extension $2 under $1.
mean_ssim() { # dir ext
  command -v ffmpeg >/dev/null || { echo n/a; return; }
  local sum=0 n=0 s
  while read -r name; do
    [ -f "$1/$name.$2" ] || continue
    s=$(ffmpeg -nostdin -v error -i "$1/$name.$2" -framerate 10 -start_number 1 -i "$site/assets/muscles/png/$name-%d.png" \
      -lavfi "[1]scale=$(( size < 480 ? size : 480 )):-2:flags=lanczos,format=yuv420p[ref];[0]format=yuv420p[v];[v][ref]ssim=stats_file=-" \
      -f null - 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^All:/) { split($i, a, ":"); s += a[2]; n++ } }
        END { printf "%.4f", s / n }')
    sum=$(echo "$sum + $s" | bc -l); n=$((n + 1))
  done < "$work/names.txt"
  [ "$n" -gt 0 ] && printf '%.4f' "$(echo "$sum / $n" | bc -l)" || echo n/a
}

cold_target=0.7; [ -n "${FEATURES:-}" ] && cold_target=0.4
printf '\n| | assetmill | chain | ratio | target |\n| --- | --- | --- | --- | --- |\n'
printf '| cold build wall (s) | %s | %s | %s | <= %s |\n' "$am_wall" "$ch_wall" "$(ratio "$am_wall" "$ch_wall")" "$cold_target"
printf '| peak RSS (MB) | %s | %s | | <= 300 |\n' "$am_rss" "$ch_rss"
printf '| frames (bytes) | %s | %s | %s | |\n' "$am_frames" "$ch_frames" "$(ratio "$am_frames" "$ch_frames")"
printf '| thumbnails (bytes) | %s | %s | %s | |\n' "$am_thumbs" "$ch_thumbs" "$(ratio "$am_thumbs" "$ch_thumbs")"
printf '| GIFs (bytes) | %s | %s | %s | <= 0.9 |\n' "$am_gifs" "$ch_gifs" "$(ratio "$am_gifs" "${ch_gifs/#0/1}")"
printf '| GIF mean SSIM | %s | %s | | >= chain |\n' "$(mean_ssim "$site/out/muscles/gif" gif)" "$(mean_ssim "$chain/muscles/gif" gif)"
printf '| sprites (bytes) | %s | %s | %s | |\n' "$am_sprites" "$ch_sprites" "$(ratio "$am_sprites" "$ch_sprites")"
printf '| WebM (bytes): AV1 vs VP9 | %s | %s | %s | <= 1.0 |\n' "$am_webm" "$ch_webm" "$(ratio "$am_webm" "${ch_webm/#0/1}")"
printf '| WebM mean SSIM | %s | %s | | >= chain |\n' "$(mean_ssim "$site/out/muscles/gif" webm)" "$(mean_ssim "$chain/muscles/gif" webm)"
printf '| MP4 (bytes): OpenH264 vs x264 | %s | %s | %s | <= 1.5 |\n' "$am_mp4" "$ch_mp4" "$(ratio "$am_mp4" "${ch_mp4/#0/1}")"
printf '| MP4 mean SSIM | %s | %s | | >= chain |\n' "$(mean_ssim "$site/out/muscles/gif" mp4)" "$(mean_ssim "$chain/muscles/gif" mp4)"
printf '| both videos / GIFs (bytes) | %s | %s | %s | <= 0.5 |\n' "$((am_webm + am_mp4))" "$am_gifs" "$(ratio "$((am_webm + am_mp4))" "$am_gifs")"
printf '| total output (bytes) | %s | %s | %s | <= 0.97 |\n' "$am_total" "$ch_total" "$(ratio "$am_total" "$ch_total")"
printf '\n| assetmill | value | target |\n| --- | --- | --- |\n'
printf '| warm rebuild / cold | %s s / %s s = %s | <= 0.02 |\n' "$warm_wall" "$am_wall" "$(ratio "$warm_wall" "$am_wall")"
printf '| --jobs 1 / --jobs 2 wall | %s s / %s s = %s | >= 1.9 |\n' "$j1_wall" "$am_wall" "$(ratio "$j1_wall" "$am_wall")"
printf '| peak RSS, %s pages / %s pages | %s MB / %s MB = %s | <= 1.2 |\n' "$big" "$pages" "$big_rss" "$am_rss" "$(ratio "$big_rss" "$am_rss")"
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing peers (their steps were skipped, so the chain column is incomplete): ${missing[*]}"
fi
