#!/usr/bin/env bash
# A site the size of the real atlas, built the ways CI builds it:
#
#   benches/site_scale.sh [PAGES] [SIZE] [SHARDS]
#   FEATURES=asm benches/site_scale.sh          (rav1e's assembly; needs nasm)
#
# Synthesizes PAGES muscle pages (default 230) x 16 frames of SIZE px
# (default 600), then per body region a region page assembling its own
# 16-frame GIF from the first frames of its muscles, and an overview page
# showing every muscle GIF of the region (both reuse files the muscle pages
# own).
# Then, timing each with /usr/bin/time (wall seconds, peak RSS):
#   cold     `build` into an empty out/
#   warm     `build` again (nothing to do)
#   check    `build --check`
#   shard i  `build --shard i/SHARDS --out shard-i`, one after another, cold
#   merge    `merge --out merged shard-1 ... shard-SHARDS`
# and checks that merged/ is byte-identical to out/ (the report aside, which
# holds timings) and that a build of merged/ builds nothing.
# The corpus is kept in target/site-scale-PAGES-SIZE (delete it to remake);
# PREPARE=1 only makes it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pages=${1:-230}
size=${2:-600}
shards=${3:-4}
features=()
target=target
if [ -n "${FEATURES:-}" ]; then features=(--features "$FEATURES"); target=target/features-$FEATURES; fi
cargo build --release --quiet --bin assetmill --target-dir "$target" "${features[@]}"
bin="$root/$target/release/assetmill"

dir="$root/target/site-scale-$pages-$size"
if [ ! -d "$dir/content" ]; then
  "$bin" synth "$dir" --pages "$pages" --frames 16 --size "$size" >/dev/null
fi
if [ ! -d "$dir/content/regions" ]; then
  # Region and overview pages, per region (the prefix of a muscle's name).
  # As on the real site, a region's animation has 16 frames: here the first
  # frame of each of its muscles, cycling if it has fewer than 16.
  mkdir -p "$dir/content/regions" "$dir/content/overview"
  ls "$dir/assets/muscles/png" | sed -n 's/^\(.*\)-1\.png$/\1/p' | sort >"$dir/muscles.txt"
  cut -d- -f1 "$dir/muscles.txt" | sort -u | while read -r region; do
    mapfile -t members < <(grep "^$region-" "$dir/muscles.txt")
    {
      printf -- '---\ntitle: %s region\nimages:\n' "$region"
      printf "  - image_id: '%s'\n    image_name: 'regions/gif/%s.gif'\n    image_alt: 'The %s region'\n" \
        "$region" "$region" "$region"
      printf 'gallery:\n'
      for i in $(seq 0 15); do
        m=${members[$((i % ${#members[@]}))]}
        printf '  - image_url: muscles/png/%s-1.png\n    caption: %s\n' "$m" "$m"
      done
      printf -- '---\n'
    } >"$dir/content/regions/$region.md"
    {
      printf -- '---\ntitle: %s overview\nimages:\n' "$region"
      for m in "${members[@]}"; do
        printf "  - image_id: '%s'\n    image_name: 'muscles/gif/%s.gif'\n    image_alt: '%s'\n" \
          "${m//-/}" "$m" "$m"
      done
      printf -- '---\n'
    } >"$dir/content/overview/$region.md"
  done
fi
[ -z "${PREPARE:-}" ] || exit 0
cd "$dir"
rm -rf out merged shard-*

# Runs assetmill under /usr/bin/time; prints "wall_s rss_mb".
measure() {
  /usr/bin/time -f '%e %M' -o "$dir/time.txt" "$bin" -q "$@" >"$dir/last.txt" 2>&1 || {
    code=$?
    # --check exits 1 when something is stale; anything else is a failure.
    if [ "$1 $2" != "build --check" ]; then cat "$dir/last.txt" >&2; exit "$code"; fi
  }
  awk '{ printf "%.2f %.0f\n", $1, $2 / 1024 }' "$dir/time.txt"
}

frames=$(find assets -name '*.png' | wc -l)
echo "corpus: $(find content -name '*.md' | wc -l) pages ($pages muscles x 16 frames of ${size} px," \
  "$frames frames, $(du -sm assets | cut -f1) MB), $(nproc) cores, rav1e assembly: ${FEATURES:-no}"

read -r cold cold_rss < <(measure build)
built=$(grep -o 'built [0-9]* files' last.txt)
read -r warm warm_rss < <(measure build)
read -r check check_rss < <(measure build --check)
check_line=$(grep '^check:' last.txt)
slowest=0
shard_rss=0
shard_times=()
shard_rsss=()
for i in $(seq 1 "$shards"); do
  read -r t rss < <(measure build --shard "$i/$shards" --out "shard-$i")
  shard_times+=("$t")
  shard_rsss+=("$rss")
  slowest=$(echo "if ($t > $slowest) $t else $slowest" | bc)
  [ "$rss" -gt "$shard_rss" ] && shard_rss=$rss
done
dirs=()
for i in $(seq 1 "$shards"); do dirs+=("shard-$i"); done
read -r merge merge_rss < <(measure merge --out merged "${dirs[@]}")
if diff -r -x report.html -x lock out merged >/dev/null; then identical=yes; else identical=NO; fi
after=$("$bin" -q build --out merged | grep -o 'built [0-9]* files')

ratio=$(echo "scale=3; $slowest / $cold" | bc)
max_rss=$cold_rss
for r in $warm_rss $check_rss $shard_rss $merge_rss; do [ "$r" -gt "$max_rss" ] && max_rss=$r; done
printf '\n| step | wall (s) | peak RSS (MB) | target |\n| --- | --- | --- | --- |\n'
printf '| cold build (%s) | %s | %s | |\n' "$built" "$cold" "$cold_rss"
printf '| warm build | %s | %s | <= 1 s |\n' "$warm" "$warm_rss"
printf '| `build --check` (%s) | %s | %s | <= 1 s |\n' "$check_line" "$check" "$check_rss"
for i in $(seq 1 "$shards"); do
  printf '| shard %s/%s, cold | %s | %s | |\n' "$i" "$shards" "${shard_times[$((i - 1))]}" \
    "${shard_rsss[$((i - 1))]}"
done
printf '| merge of %s shards | %s | %s | |\n' "$shards" "$merge" "$merge_rss"
printf '\n| figure | value | target |\n| --- | --- | --- |\n'
printf '| slowest shard / cold build | %s / %s = %s | <= 0.3 |\n' "$slowest" "$cold" "$ratio"
printf '| peak RSS, any step | %s MB | <= 300 MB |\n' "$max_rss"
printf '| merged = single build, byte for byte | %s | yes |\n' "$identical"
printf '| build of the merged folder | %s | built 0 files |\n' "$after"
