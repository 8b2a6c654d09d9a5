#!/usr/bin/env bash
# Dashboard benchmark (opt-in, not CI): N task records (default 100,000) in one SQLite store,
# made by a real burst worker (N-10 that succeed, 10 that fail), then the dashboard's task list
# timed with curl: the first page, a later page, searches by name, by state, by time and by id,
# and the overview. Prints each page's time (the server's full answer, median of 5).
#
#   bench/dashboard.sh              # N=100000
#   N=10000 bench/dashboard.sh      # a smoke run
#
# Knobs: N, STEM_BIN uses a prebuilt binary (default: target/release/stem, built if missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
N=${N:-100000}
stem=${STEM_BIN:-$root/target/release/stem}
[ -x "$stem" ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem

work=$(mktemp -d)
trap 'kill "$serve" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
export STEM_BROKER_URL="sqlite://$work/stem.db"
printf '[tasks.ok]\nexec = ["true"]\n\n[tasks.bad]\nexec = ["false"]\nmax_retries = 0\n' > stem.toml

echo "== $N task records (a burst worker drains them)"
"$stem" enqueue ok --repeat $((N - 10)) >/dev/null
"$stem" enqueue bad --repeat 10 >/dev/null
start=$(date +%s)
"$stem" worker --burst --concurrency 8 2>"$work/worker.log"
echo "   drained in $(( $(date +%s) - start )) s"
some_id=$("$stem" tasks list --json --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

"$stem" serve --listen 127.0.0.1:0 > "$work/serve.out" 2>"$work/serve.log" &
serve=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/serve.out" && break; sleep 0.1; done
base=$(sed -n 's/^stem serve: listening on //p' "$work/serve.out")

time_page() {
  local label=$1 path=$2 times
  times=$(for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' "$base$path"; done | sort -n)
  printf '   %-34s %6.0f ms  (%s)\n' "$label" "$(echo "$times" | sed -n 3p | awk '{print $1 * 1000}')" "$path"
}

echo "== dashboard pages over $N records (median of 5)"
time_page "task list, first page" "/ui/tasks"
time_page "task list, page 10" "/ui/tasks?page=9"
time_page "search by name (10 of N)" "/ui/tasks?task=bad"
time_page "search by state failure" "/ui/tasks?state=failure"
time_page "search by name and time" "/ui/tasks?task=ok&since=1h"
time_page "search by id (task page)" "/ui/tasks/$some_id"
time_page "overview" "/"
