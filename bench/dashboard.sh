#!/usr/bin/env bash
# Dashboard benchmark (opt-in, not CI): one SQLite store with N tasks (default 100,000). First
# the queue pages while all N wait (plus 1,000 scheduled), then a burst worker drains them (N-10
# succeed, 10 fail) and the record pages are timed at N records: the task list's first page and
# a page 50,000 records deep (by cursor), searches by name, state, time and id, the stats page
# (per task type, p50/p95, latency charts), the overview, workers, dead letters, schedules.
# Each page: the server's full answer timed with curl (median of 5); then, when Chromium and
# playwright-core (tests/browser) are here, each page loaded in headless Chromium (median of 5,
# to the load event) and a screenshot of it into OUT (default bench/results/dashboard/).
#
#   bench/dashboard.sh              # N=100000
#   N=10000 bench/dashboard.sh      # a smoke run
#
# Knobs: N, OUT, STEM_BIN uses a prebuilt binary (default: target/release/stem, built if missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
N=${N:-100000}
OUT=${OUT:-$here/results/dashboard}
stem=${STEM_BIN:-$root/target/release/stem}
[ -x "$stem" ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem

work=$(mktemp -d)
serve=
trap '[ -n "$serve" ] && kill "$serve" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
export STEM_BROKER_URL="sqlite://$work/stem.db"
printf '[tasks.ok]\nexec = ["true"]\n\n[tasks.bad]\nexec = ["false"]\nmax_retries = 0\n' > stem.toml

echo "== $N tasks waiting, 1,000 scheduled"
start=$(date +%s)
"$stem" enqueue ok --repeat $((N - 10)) >/dev/null
"$stem" enqueue bad --repeat 10 >/dev/null
"$stem" enqueue ok --repeat 1000 --countdown 1h >/dev/null
echo "   enqueued in $(( $(date +%s) - start )) s"

"$stem" serve --listen 127.0.0.1:0 > "$work/serve.out" 2>"$work/serve.log" &
serve=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/serve.out" && break; sleep 0.1; done
base=$(sed -n 's/^stem serve: listening on //p' "$work/serve.out")

pages=()
time_page() {
  local label=$1 path=$2 times
  times=$(for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' "$base$path"; done | sort -n)
  printf '   %-38s %6.0f ms  (%s)\n' "$label" "$(echo "$times" | sed -n 3p | awk '{print $1 * 1000}')" "$path"
  pages+=("$label|$path")
}

echo "== queue pages over $N waiting tasks (server time, median of 5)"
time_page "queues" "/ui/queues"
time_page "queue: waiting (first 100)" "/ui/queues/default"
time_page "queue: scheduled" "/ui/queues/default?state=scheduled"
time_page "API: 1,000 waiting tasks" "/v1/queues/default/tasks?limit=1000"
if [ -n "${BROWSER_PAGES:-1}" ] && [ -d "$root/tests/browser/node_modules/playwright-core" ]; then
  node "$here/dashboard_browser.js" "$base" "$OUT" "before-drain" "${pages[@]}" || echo "   (no browser timing: $?)"
fi
pages=()

start=$(date +%s)
"$stem" worker --burst --concurrency 8 --queues default 2>"$work/worker.log" &
worker=$!
# The scheduled 1,000 stay delayed: the burst worker ends when nothing is due.
wait "$worker"
echo "== drained $N in $(( $(date +%s) - start )) s"
some_id=$("$stem" tasks list --json --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
cursor=""
for _ in 1 2 3 4 5; do
  cursor=$(curl -s "$base/v1/tasks?limit=10000${cursor:+&after=$cursor}" | python3 -c 'import json,sys,urllib.parse; print(urllib.parse.quote(json.load(sys.stdin)["next_cursor"] or ""))')
done

echo "== record pages over $N records (server time, median of 5)"
time_page "task list, first page" "/ui/tasks"
time_page "task list, 50,000 records deep" "/ui/tasks?after=$cursor"
time_page "search by name (10 of N)" "/ui/tasks?task=bad"
time_page "search by state failure" "/ui/tasks?state=failure"
time_page "search by name and time" "/ui/tasks?task=ok&since=1h"
time_page "task page" "/ui/tasks/$some_id"
time_page "stats (20,000 most recent)" "/ui/stats"
time_page "overview" "/"
time_page "workers" "/ui/workers"
time_page "dead letters" "/ui/dead-letters"
time_page "schedules" "/ui/schedules"
if [ -d "$root/tests/browser/node_modules/playwright-core" ]; then
  node "$here/dashboard_browser.js" "$base" "$OUT" "after-drain" "${pages[@]}" || echo "   (no browser timing: $?)"
else
  echo "== no browser timing: run (cd tests/browser && npm install) for playwright-core"
fi
