#!/usr/bin/env bash
# The quickstart, end to end on the embedded default (one SQLite file, no services needed):
# builds stem, starts a worker on this folder's stem.toml, enqueues the four tasks, waits for
# each outcome, then stops the worker with SIGTERM (a warm shutdown).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

echo "== building stem (release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
stem="$root/target/release/stem"

work=$(mktemp -d)
trap 'kill "$worker" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"   # the SQLite file stem.db is created here

# One log line per outcome (success lines are debug-level by default).
STEM_LOG=${STEM_LOG:-info,stem::observe::log=debug} \
  "$stem" worker --manifest "$here/stem.toml" --concurrency 4 2>"$work/worker.log" &
worker=$!
# Until its first heartbeat the worker is not yet live to producers (they would say so).
for _ in $(seq 100); do "$stem" health >/dev/null 2>&1 && break; sleep 0.1; done

run() {
  echo
  echo "== stem enqueue $*"
  "$stem" enqueue "$@" --wait --timeout 30 || echo "(exit status $?)"
}
run add --args '[2, 3]'
run hello
run fail --kwargs '{"item": "sprocket"}'
run sleepy

echo
if pgrep -f "sleep 613" >/dev/null; then
  echo "!! a process of the sleepy task's group survived"; exit 1
else
  echo "== no process of the sleepy task's group survived the hard limit"
fi

kill -TERM "$worker"
wait "$worker" || true
echo
echo "== worker log"
cat "$work/worker.log"
