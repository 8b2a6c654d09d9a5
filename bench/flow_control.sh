#!/usr/bin/env bash
# Flow-control check at the issue's scale (opt-in, not CI): three workers of concurrency 4 drain
# N no-op tasks limited to RATE starts a second fleet-wide (burst BURST), on SQLite (default) or
# the local Redis; prints the drain time, its ratio to the ideal (N - BURST) / RATE, and the
# busiest one-second window of starts beside its bound RATE + BURST.
#
#   bench/flow_control.sh                         # N=400 RATE=20 BURST=1 on SQLite
#   STORE=redis bench/flow_control.sh             # on redis://127.0.0.1:6379/9, own namespace
#   STORE=postgres bench/flow_control.sh          # on the local Postgres, own schema
#
# Knobs: N, RATE, BURST, STORE (sqlite|redis|postgres), STEM_BIN (a prebuilt binary), BUILD=0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
N=${N:-400}
RATE=${RATE:-20}
BURST=${BURST:-1}
STORE=${STORE:-sqlite}
if [ -z "${STEM_BIN:-}" ]; then
  [ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
work=$(mktemp -d /tmp/stem-bench-flow.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$STORE" = redis ]; then
    redis-cli -u "$STEM_BROKER_URL" --scan --pattern "$STEM_NAMESPACE:*" | xargs -r redis-cli -u "$STEM_BROKER_URL" unlink >/dev/null
  fi
  if [ "$STORE" = postgres ]; then
    psql -q "$STEM_BROKER_URL" -c "DROP SCHEMA IF EXISTS $STEM_NAMESPACE CASCADE" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
printf '[tasks.tick]\nexec = ["true"]\nrate_limit = "%s/s"\nburst = %s\n' "$RATE" "$BURST" > stem.toml
case $STORE in
  sqlite) export STEM_BROKER_URL="sqlite://$work/stem.db" ;;
  redis) export STEM_BROKER_URL=redis://127.0.0.1:6379/9 STEM_NAMESPACE="bench_flow_$$" ;;
  postgres) export STEM_BROKER_URL=postgres://postgres@127.0.0.1:5432/test STEM_NAMESPACE="bench_flow_$$" ;;
  *) echo "STORE must be sqlite, redis or postgres" >&2; exit 2 ;;
esac
for i in 1 2 3; do
  "$STEM_BIN" worker --manifest stem.toml --concurrency 4 2>"worker-$i.log" &
  pids+=($!)
done
"$STEM_BIN" enqueue tick --repeat "$N" >/dev/null
start=$(date +%s.%N)
while :; do
  done_count=$("$STEM_BIN" tasks list --task tick --state success --limit 100000 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  [ "$done_count" -ge "$N" ] && break
  sleep 0.2
done
end=$(date +%s.%N)
"$STEM_BIN" tasks list --task tick --state success --limit 100000 --json > records.json
python3 - "$N" "$RATE" "$BURST" "$start" "$end" "$STORE" <<'PY'
import json, sys
n, rate, burst, start, end, store = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
starts = sorted(r["started_at"] for r in json.load(open("records.json")))
busiest = max(sum(1 for u in starts if t <= u < t + 1000) for t in starts)
span = (starts[-1] - starts[0]) / 1000
ideal = (n - burst) / rate
print(f"flow control on {store}: {n} tasks at {rate:g}/s (burst {burst}) over 3 workers x 4 slots")
print(f"  starts spread over {span:.2f} s (ideal {ideal:.2f} s, ratio {span / ideal:.3f}); drain seen by the poller {end - start:.2f} s")
print(f"  busiest one-second window: {busiest} starts (bound {rate + burst:g}) -> {'ok' if busiest <= rate + burst else 'OVER'}")
PY
