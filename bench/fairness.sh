#!/usr/bin/env bash
# Fairness at the issue's scale (opt-in, not CI): a worker drains tenant A's backlog of N_A no-op
# Python tasks (warm pool, C slots); once it is busy, tenant B enqueues N_B. Prints B's wait to
# start (first, p50, p99, max; started_at - created_at) with fair keys (`--fair-key a` / `b`)
# beside the same run without keys (FIFO: B waits for A's whole backlog), on each broker, with
# one task's run time (C / A's drain rate, which includes this script's polling) and the ideal
# of round-robin between the 2 active keys: B's p99 task starts after 2 x 0.99 x N_B tasks, C at a
# time. p99/ideal near 1 is fair; FIFO's is about N_A / (2 N_B).
#
#   bench/fairness.sh                          # N_A=100000 N_B=100 on sqlite, redis, postgres
#   N_A=20000 STORES=sqlite bench/fairness.sh  # smaller, one store
#
# Knobs: N_A, N_B, C (worker slots, default 2), STORES, MODES (default "fair fifo"), STEM_BIN,
# BUILD=0, REDIS_URL (default redis://127.0.0.1:6379/9), PG_URL.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
N_A=${N_A:-100000}
N_B=${N_B:-100}
C=${C:-2}
STORES=${STORES:-sqlite redis postgres}
MODES=${MODES:-fair fifo}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/9}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
if [ -z "${STEM_BIN:-}" ]; then
  [ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
work=$(mktemp -d /tmp/stem-bench-fair.XXXXXX)
worker=""
cleanup_store() {
  if [ -n "$worker" ]; then kill "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true; worker=""; fi
  case ${STEM_BROKER_URL:-} in
    redis*) redis-cli -u "$STEM_BROKER_URL" --scan --pattern "$STEM_NAMESPACE:*" | xargs -r -n 500 redis-cli -u "$STEM_BROKER_URL" unlink >/dev/null ;;
    postgres*) psql -q "$STEM_BROKER_URL" -c "DROP SCHEMA IF EXISTS $STEM_NAMESPACE CASCADE" >/dev/null 2>&1 || true ;;
  esac
}
trap 'cleanup_store; rm -rf "$work"' EXIT
cd "$work"
cat > stem.toml <<EOF
[runtimes.python]
command = ["python3", "$work/ab.py"]
isolation = "pool"

[defaults]
max_retries = 0
queue = "fair"

[tasks.a]
runtime = "python"

[tasks.b]
runtime = "python"
EOF
cat > ab.py <<EOF
import sys
sys.path.insert(0, "$root/sdk-python")
from stem_sdk import run, task

@task("a")
def a(*args, **kwargs):
    return None

@task("b")
def b(*args, **kwargs):
    return None

if __name__ == "__main__":
    run()
EOF

ready() { "$STEM_BIN" queue list --json | python3 -c 'import json,sys
for q in json.load(sys.stdin):
    if q.get("queue", q.get("name")) == "fair": print(q.get("ready", 0)); break
else: print(0)'; }
done_b() { "$STEM_BIN" tasks list --task b --state success --limit 100000 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

printf '%-9s %-5s %9s %9s %9s %9s %8s %10s %10s %s\n' store mode "B 1st ms" "B p50 ms" "B p99 ms" "B max ms" "task ms" "A drain/s" "ideal ms" "p99/ideal"
for store in $STORES; do
  for mode in $MODES; do
    run=$(date +%s%N | tail -c 7)
    case $store in
      sqlite) export STEM_BROKER_URL="sqlite://$work/$run.db"; unset STEM_NAMESPACE ;;
      redis) export STEM_BROKER_URL="$REDIS_URL" STEM_NAMESPACE="bench_fair_$run" ;;
      postgres) export STEM_BROKER_URL="$PG_URL" STEM_NAMESPACE="bench_fair_$run" ;;
      *) echo "unknown store $store" >&2; exit 2 ;;
    esac
    keys_a=(); keys_b=()
    if [ "$mode" = fair ]; then keys_a=(--fair-key a); keys_b=(--fair-key b); fi
    "$STEM_BIN" enqueue a --repeat "$N_A" "${keys_a[@]}" >/dev/null
    "$STEM_BIN" worker --manifest stem.toml --concurrency "$C" 2>"worker-$store-$mode.log" &
    worker=$!
    t0=$(date +%s.%N)
    # Busy on A's backlog: a tenth of it (at most 5,000) done.
    want=$((N_A - (N_A / 10 < 5000 ? N_A / 10 : 5000)))
    while [ "$(ready)" -gt "$want" ]; do sleep 0.5; done
    t1=$(date +%s.%N); left=$(ready)
    "$STEM_BIN" enqueue b --repeat "$N_B" "${keys_b[@]}" >/dev/null
    while [ "$(done_b)" -lt "$N_B" ]; do sleep 0.5; done
    "$STEM_BIN" tasks list --task b --state success --limit 100000 --json > "b-$store-$mode.json"
    python3 - "$store" "$mode" "$C" "$N_A" "$left" "$t0" "$t1" "b-$store-$mode.json" <<'PY'
import json, sys
store, mode, c, n_a, left, t0, t1, path = sys.argv[1:]
c, n_a, left, t0, t1 = int(c), int(n_a), int(left), float(t0), float(t1)
rate = (n_a - left) / (t1 - t0)
task_ms = c / rate * 1000
waits = sorted(r["started_at"] - r["created_at"] for r in json.load(open(path)))
pick = lambda q: waits[min(len(waits) - 1, int(q * len(waits)))]
p50, p99 = pick(0.5), pick(0.99)
# Served alternately with A, B's k-th task starts after about 2k tasks, C at a time: the p99
# task (the 99th of 100) after 2 x 0.99 x N_B x task / C.
ideal = 2 * 0.99 * len(waits) * task_ms / c
print(f"{store:<9} {mode:<5} {waits[0]:>9} {p50:>9} {p99:>9} {waits[-1]:>9} {task_ms:>8.3f} {rate:>10.0f} {ideal:>10.0f} {p99 / ideal:.2f}x")
PY
    cleanup_store
  done
done
