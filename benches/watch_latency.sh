#!/usr/bin/env bash
# How soon `assetmill watch` rewrites a saved gallery frame's outputs, on a
# copy of the bundled sample (or SITE=dir, a folder with assetmill.yml,
# content/ and assets/). Saves FRAME (a gallery frame, replaced by another
# frame of the same set, so its pixels change) and prints, for each of its
# outputs, the time from the save (the source's mtime) to the output's
# rename into place (its mtime), then the whole round.
#
#   benches/watch_latency.sh                   (Arm-Biceps-3.png of the sample)
#   FRAME=muscles/png/Leg-Soleus-5.png benches/watch_latency.sh
#   SITE=examples/jekyll IMAGES=_images OUT=img FRAME="muscles/png/Arm-Biceps Brachii-3.png" \
#     benches/watch_latency.sh                 (the example Jekyll site)
set -euo pipefail
cd "$(dirname "$0")/.."
frame=${FRAME:-muscles/png/Arm-Biceps-3.png}
images=${IMAGES:-assets}
out=${OUT:-out}
cargo build --release --quiet --bin assetmill ${FEATURES:+--features "$FEATURES"}
bin="$(pwd)/target/release/assetmill"
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
if [ -n "${SITE:-}" ]; then cp -r "$SITE"/. "$work/"; rm -rf "$work/$out" "$work/_site"; else cp -r content assets assetmill.yml "$work/"; fi
cd "$work"
"$bin" watch --quiet > watch.log 2>&1 &
pid=$!
until grep -q "^first build" watch.log; do sleep 0.2; done
stem=${frame%.png}
set_name=${stem%-*}
other=$(ls "$images/$set_name"-*.png | grep -vF "$images/$frame" | head -1)
ns() { stat -c %.3Y "$1"; }
rounds=$(grep -c . watch.log)
cp "$other" "$images/$frame"
saved=$(ns "$images/$frame")
until [ "$(grep -c . watch.log)" -gt "$rounds" ]; do sleep 0.1; done
echo "saved $images/$frame; its outputs, seconds after the save:"
gif="$out/$(dirname "$frame" | sed 's#png$#gif#')/$(basename "$set_name").gif"
for f in "$out/$frame" "$out/$stem-thumb.png" "$gif" "${gif%.gif}-sprite.png" "${gif%.gif}.mp4" "${gif%.gif}.webm" "$out/assets.json"; do
  if [ -e "$f" ]; then printf '  %-50s %6.2f\n' "${f#"$out"/}" "$(echo "$(ns "$f") - $saved" | bc -l)"; fi
done
tail -1 watch.log
