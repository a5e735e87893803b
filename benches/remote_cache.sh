#!/usr/bin/env bash
# The remote cache on loopback: a cold build that fills it, then a cold
# build of a fresh checkout (another folder) that fetches from it, each
# timed in this one run, with the trees compared; then what a store that
# is down costs: a cold build (and, for a figure free of the encoders'
# noise, a dry run, which looks every output up) with no store, beside the
# same with a store that refuses connections (nothing listening) and one
# that never answers (a listener that accepts no connection: requests run
# into their timeouts).
#
#   benches/remote_cache.sh [PAGES] [SIZE]     (default: the 8-page x 16-frame
#                                               600 px bench corpus)
#   FEATURES=asm benches/remote_cache.sh       (rav1e with assembly)
#
# Needs s3s-fs (`cargo install --locked s3s-fs --version 0.14.1
# --features binary`, which .ci/run does).
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-8}
size=${2:-600}
cargo build --release --quiet --bin assetmill ${FEATURES:+--features "$FEATURES"}
bin="$(pwd)/target/release/assetmill"
s3s=$(command -v s3s-fs || echo "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs")
work=$(mktemp -d)
trap 'kill "$server" "$hung" 2>/dev/null || true; rm -rf "$work"' EXIT
hung=
mkdir -p "$work/s3/cache"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$s3s" --host 127.0.0.1 --port "$port" --access-key bench --secret-key bench-secret "$work/s3" \
  >/dev/null 2>&1 &
server=$!
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
"$bin" synth --pages "$pages" --frames 16 --size "$size" -q "$work/first" >/dev/null
for copy in second local refused hanging; do cp -r "$work/first" "$work/$copy"; done
wall() { # DIR ENDPOINT ARGS...: the build's wall seconds, and its remote line
  local dir=$1 endpoint=$2; shift 2
  local start end
  start=$(date +%s.%N)
  (cd "$dir" && AWS_ENDPOINT_URL=$endpoint "$bin" build -q "$@" >"$dir.log" 2>&1)
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
url=s3://cache/bench
endpoint=http://127.0.0.1:$port
fill=$(wall "$work/first" "$endpoint" --remote-cache "$url")
fetch=$(wall "$work/second" "$endpoint" --remote-cache "$url")
same=same
diff -r -x lock -x report.html "$work/first/out" "$work/second/out" >/dev/null || same=DIFFERENT
objects=$(find "$work/s3/cache/bench" -type f | wc -l)
stored=$(du -sb "$work/s3/cache/bench" | cut -f1)
echo "corpus: $pages pages x 16 frames of $size px; store: s3s-fs on loopback"
printf '%-44s %8.2f s\n' "cold build, filling the store" "$fill"
printf '%-44s %8.2f s  (%.3fx; trees %s)\n' "cold build of another checkout, fetching" \
  "$fetch" "$(echo "$fetch / $fill" | bc -l)" "$same"
echo "  store: $objects objects, $(echo "$stored / 1000000" | bc -l | xargs printf '%.1f') MB"
grep -h "^remote cache" "$work/first.log" "$work/second.log" | sed "s/^/  /"
free=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
silent=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4096); time.sleep(86400)' "$silent" &
hung=$!
for mode in "--dry-run" ""; do
  what=${mode:+dry run}; what=${what:-cold build}
  none=$(wall "$work/local" "$endpoint" $mode)
  refused=$(wall "$work/refused" "http://127.0.0.1:$free" $mode --remote-cache "$url")
  hanging=$(wall "$work/hanging" "http://127.0.0.1:$silent" $mode --remote-cache "$url")
  printf '%-44s %8.2f s\n' "$what, no store" "$none"
  printf '%-44s %8.2f s  (%+.2f s)\n' "$what, store refusing connections" "$refused" \
    "$(echo "$refused - $none" | bc -l)"
  printf '%-44s %8.2f s  (%+.2f s)\n' "$what, store not answering" "$hanging" \
    "$(echo "$hanging - $none" | bc -l)"
done
grep -h 'warning: remote cache' "$work/refused.log" "$work/hanging.log" | cut -c1-150 | sed 's/^/  /'
