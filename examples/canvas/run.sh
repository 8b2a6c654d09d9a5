#!/usr/bin/env bash
# The canvas example, end to end on the embedded default (one SQLite file, no services needed):
# builds stem, starts a worker on this folder's stem.toml (warm Python and Node pools, a shell
# body), submits the chord of chord.json with the CLI and both chords of submit.py with the
# Python SDK, checks their outcomes, then stops the worker with SIGTERM (a warm shutdown).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

echo "== building stem (release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
stem="${CARGO_TARGET_DIR:-$root/target}/release/stem"

work=$(mktemp -d)
trap 'kill "$worker" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"   # the SQLite file stem.db is created here
export STEM_MANIFEST="$here/stem.toml"   # `stem canvas submit` checks task names against it
export STEM_BIN="$stem"                  # the Python SDK's producer client runs it

# One log line per outcome (success lines are debug-level by default).
STEM_LOG=${STEM_LOG:-info,stem::observe::log=debug} PYTHONPATH="$root/sdk-python" \
  "$stem" worker --manifest "$here/stem.toml" --concurrency 4 2>"$work/worker.log" &
worker=$!

echo
echo "== stem canvas submit chord.json --wait"
"$stem" canvas submit "$here/chord.json" --wait --timeout 60 | tee "$work/cli.txt"
grep -q '^result: 34$' "$work/cli.txt" || { echo "!! expected result 34"; exit 1; }

echo
echo "== python3 submit.py (the Python SDK's builders)"
python3 "$here/submit.py"

# The failing chord's link_error ran exactly once (its line is in the worker log).
for _ in $(seq 50); do grep -q 'link_error:' "$work/worker.log" && break; sleep 0.1; done
errbacks=$(grep -c 'link_error: .* failed: no square for 6 today' "$work/worker.log" || true)
[ "$errbacks" = 1 ] || { echo "!! link_error ran $errbacks times"; exit 1; }
echo "== the failing chord's link_error ran once; its body never ran"

kill -TERM "$worker"
wait "$worker" || true
echo
echo "== worker log"
cat "$work/worker.log"
echo
echo "== ok"
