#!/usr/bin/env bash
# The beat example, end to end on the embedded default (one SQLite file, no services needed):
# applies stem.toml's schedules, shows the next fire times with dry-run, runs a worker and two
# beats (one leads), SIGSTOPs the leader past its lock, resumes it, and checks that every
# `heartbeat` fire time ran exactly once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

echo "== building stem"
cargo build --quiet --manifest-path "$root/Cargo.toml" --bin stem
stem="${STEM_BIN:-$root/target/debug/stem}"

work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
cp "$here/stem.toml" "$work/"
cd "$work"   # stem.db and ticks.log are created here

echo "== stem schedule apply stem.toml"
"$stem" schedule apply stem.toml
echo "== the next quarter-hours in Paris"
"$stem" schedule dry-run --id quarter-hourly --count 3

"$stem" worker --manifest stem.toml 2>worker.log & pids+=($!)
"$stem" beat --beat-id a --lock-ttl 2s 2>beat-a.log & a=$!; pids+=($a)
sleep 1
"$stem" beat --beat-id b --lock-ttl 2s 2>beat-b.log & pids+=($!)
sleep 5
echo "== freezing the leader (a) for 4s; b takes over"
kill -STOP "$a"; sleep 4; kill -CONT "$a"
sleep 4
"$stem" observe schedules
for p in "${pids[@]:1}"; do kill -TERM "$p"; done
sleep 3   # let the worker finish what was published

ticks=$(grep -c '^heartbeat@' ticks.log || true)
dupes=$(grep '^heartbeat@' ticks.log | sort | uniq -d | wc -l)
echo "== heartbeat fired $ticks times, $dupes fire times more than once"
if [ "$ticks" -lt 5 ] || [ "$dupes" -ne 0 ]; then
  echo "!! expected at least 5 heartbeat fires, each once"; exit 1
fi
echo "== ok"
