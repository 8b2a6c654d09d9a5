#!/usr/bin/env bash
# Memory (opt-in, not CI): the supervisor's RSS while it holds RESERVED deliveries reserved
# with QUEUED tasks waiting in the broker, and the RSS of one warm Python and one warm Node
# pool child. Per store: publishes one long-sleeping task per runtime (Python, Node), then
# QUEUED no-ops (`stem enqueue noop --repeat`, timed); starts one worker with concurrency 2
# and `--prefetch PREFETCH`, so the two sleepers hold both slots and the no-ops pile up
# reserved; waits (polling `stem worker stats`) until the worker reports RESERVED reserved
# (or until the count stops growing), then reads VmRSS / VmHWM from /proc/PID/status for the
# supervisor and for the two children (their pids from `stem worker inspect`). Goal: supervisor RSS <= GOAL_MB.
#
#   bench/memory.sh                          # QUEUED=1000000 RESERVED=10000 on redis and sqlite
#   QUEUED=100000 STORES=sqlite bench/memory.sh
#
# Knobs: STORES (default "redis sqlite"; postgres works too), QUEUED, RESERVED (10000, the
# reservations to wait for), PREFETCH (default RESERVED + 64), GOAL_MB (50),
# RESERVE_TIMEOUT (seconds to wait for the reservations, 180), REDIS_URL (default
# redis://127.0.0.1:6379/9), PG_URL, STEM_BIN (a prebuilt binary), BUILD=0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
STORES=${STORES:-"redis sqlite"}
QUEUED=${QUEUED:-1000000}
RESERVED=${RESERVED:-10000}
# The dispatcher refills its window (concurrency + prefetch) in batches of at most 32, so
# --prefetch RESERVED + 64 holds at least RESERVED.
PREFETCH=${PREFETCH:-$(( RESERVED + 64 ))}
GOAL_MB=${GOAL_MB:-50}
RESERVE_TIMEOUT=${RESERVE_TIMEOUT:-180}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/9}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
if [ -z "${STEM_BIN:-}" ]; then
  [ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
[ -x "$STEM_BIN" ] || { echo "memory.sh: no stem binary at $STEM_BIN" >&2; exit 2; }
PY=$(python3 -c 'import sys; print(sys.executable)')
NODE=$(command -v node) || { echo "memory.sh: node is not on PATH" >&2; exit 2; }
work=$(mktemp -d /tmp/stem-bench-memory.XXXXXX)
ns_base="bench_mem_$$"
worker= children=
# stop_worker: TERM twice (a warm shutdown, then a cold one: the sleepers' children are killed
# and their tasks given back), then KILL after 10 s; then the children by pid if any is left.
stop_worker() {
  if [ -n "$worker" ]; then
    kill "$worker" 2>/dev/null || true
    sleep 0.2
    kill "$worker" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$worker" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$worker" 2>/dev/null || true
    wait "$worker" 2>/dev/null || true
    worker=
  fi
  for p in $children; do kill -KILL "$p" 2>/dev/null || true; done
  children=
}
cleanup() {
  stop_worker
  redis-cli -u "$REDIS_URL" --scan --pattern "${ns_base}_*" 2>/dev/null | xargs -r -n 500 redis-cli -u "$REDIS_URL" unlink >/dev/null 2>&1 || true
  for s in $STORES; do
    [ "$s" = postgres ] && psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS ${ns_base}_postgres CASCADE" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$work/stem.toml" <<TOML
[runtimes.python]
command = ["$PY", "$work/tasks.py"]
isolation = "pool"

[runtimes.node]
command = ["$NODE", "$work/tasks.js"]
isolation = "pool"
soft_signal = "SIGUSR2"

[tasks.sleep_py]
runtime = "python"

[tasks.sleep_js]
runtime = "node"

[tasks.noop]
runtime = "python"
TOML
cat >"$work/tasks.py" <<PY
import sys, time
sys.path.insert(0, "$root/sdk-python")
from stem_sdk import run, task

@task("sleep_py")
def sleep_py(seconds=3600):
    time.sleep(seconds)

@task("noop")
def noop(*args):
    return None

if __name__ == "__main__":
    run()
PY
cat >"$work/tasks.js" <<JS
const { task, run } = require("$root/sdk-node");
task("sleep_js", (ctx, seconds = 3600) => new Promise((resolve) => setTimeout(resolve, seconds * 1000)));
run();
JS

# kb PID FIELD: a field of /proc/PID/status in kB (empty when the process is gone).
kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }
mb() { python3 -c "print('%.1f' % ($1 / 1024))"; }
results="$work/results.tsv"
: >"$results"
cd "$work"
status=0
for store in $STORES; do
  ns="${ns_base}_$store"
  case $store in
    sqlite) url="sqlite://$work/$store.db" ;;
    redis) url=$REDIS_URL; redis-cli -u "$url" ping >/dev/null 2>&1 || { echo "memory.sh: redis at $url does not answer" >&2; exit 1; } ;;
    postgres) url=$PG_URL; psql -q "$url" -c 'select 1' >/dev/null 2>&1 || { echo "memory.sh: postgres at $url does not answer" >&2; exit 1; } ;;
    *) echo "memory.sh: unknown store $store" >&2; exit 2 ;;
  esac
  export STEM_BROKER_URL=$url STEM_RESULT_BACKEND_URL=$url STEM_REVOKE_STORE_URL=$url STEM_NAMESPACE=$ns STEM_MANIFEST="$work/stem.toml"
  echo "== $store: 2 sleepers, then $QUEUED queued no-ops" >&2
  "$STEM_BIN" enqueue sleep_py >/dev/null
  "$STEM_BIN" enqueue sleep_js >/dev/null
  t0=$(date +%s.%N)
  enq=$("$STEM_BIN" enqueue noop --repeat "$QUEUED" --json)
  t1=$(date +%s.%N)
  enq_s=$(python3 -c "print('%.1f' % ($t1 - $t0))")
  enq_rate=$(python3 -c "import json,sys; print('%.0f' % json.loads(sys.argv[1])['per_second'])" "$enq")
  echo "   enqueued $QUEUED in ${enq_s}s ($enq_rate/s)" >&2
  "$STEM_BIN" worker --concurrency 2 --prefetch "$PREFETCH" --worker-id "$ns" 2>"worker-$store.log" &
  worker=$!
  # Wait until the worker holds PREFETCH deliveries reserved (its own count, over the control plane).
  deadline=$(( $(date +%s) + RESERVE_TIMEOUT ))
  reserved=0 running=0 stats= last=-1 still=0
  t2=$(date +%s.%N)
  while :; do
    kill -0 "$worker" 2>/dev/null || { echo "memory.sh: the $store worker exited: $(tail -n 2 "worker-$store.log" | tr '\n' ' ')" >&2; exit 1; }
    if stats=$("$STEM_BIN" worker stats --json --timeout 1s 2>/dev/null); then
      read -r reserved running < <(python3 -c "
import json, sys
s = next(iter(json.loads(sys.argv[1]).values()), {})
print(s.get('reserved', 0), s.get('in_flight', 0))" "$stats")
      [ "$reserved" -ge "$RESERVED" ] && [ "$running" -ge 2 ] && break
      # Or it stopped short: the same count for 5 s (10 polls).
      if [ "$reserved" = "$last" ] && [ "$running" -ge 2 ]; then still=$((still + 1)); else still=0; fi
      last=$reserved
      if [ "$still" -ge 10 ]; then
        echo "   the $store worker stopped at $reserved reserved (wanted $RESERVED, --prefetch $PREFETCH)" >&2
        break
      fi
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "memory.sh: $store worker holds $reserved reserved (wanted $RESERVED) after ${RESERVE_TIMEOUT}s" >&2
      exit 1
    fi
    sleep 0.5
  done
  t3=$(date +%s.%N)
  fill_s=$(python3 -c "print('%.1f' % ($t3 - $t2))")
  sleep 2   # let the allocator settle after the last fetch
  rss=$(kb "$worker" VmRSS); hwm=$(kb "$worker" VmHWM)
  inspect=$("$STEM_BIN" worker inspect --json --timeout 1s)
  read -r py_pid js_pid < <(python3 -c "
import json, sys
r = next(iter(json.load(sys.stdin).values()), {}).get('running', [])
pid = lambda rt: next((str(t['pid']) for t in r if t.get('runtime') == rt and t.get('pid')), '-')
print(pid('python'), pid('node'))" <<<"$inspect")
  children="$py_pid $js_pid"; children=${children//-/}
  py_rss=-; js_rss=-
  [ "$py_pid" != - ] && py_rss=$(mb "$(kb "$py_pid" VmRSS)")
  [ "$js_pid" != - ] && js_rss=$(mb "$(kb "$js_pid" VmRSS)")
  stats_rss=$(python3 -c "import json,sys; print(next(iter(json.loads(sys.argv[1]).values()), {}).get('rss_mb', '-'))" "$stats")
  verdict=ok
  python3 -c "import sys; sys.exit(0 if $rss / 1024 <= $GOAL_MB else 1)" || { verdict=NO; status=1; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$store" "$QUEUED" "$enq_s" "$enq_rate" "$reserved" "$fill_s" \
    "$(mb "$rss")" "$(mb "$hwm")" "$py_rss" "$js_rss" "$verdict" >>"$results"
  echo "   reserved $reserved after ${fill_s}s; supervisor VmRSS $(mb "$rss") MB (worker stats: $stats_rss MB), python child $py_rss MB, node child $js_rss MB" >&2
  stop_worker
  case $store in
    redis) redis-cli -u "$url" --scan --pattern "${ns}:*" | xargs -r -n 500 redis-cli -u "$url" unlink >/dev/null 2>&1 || true ;;
    postgres) psql -q "$url" -c "DROP SCHEMA IF EXISTS $ns CASCADE" >/dev/null 2>&1 || true ;;
    sqlite) rm -f "$work/$store.db"* ;;
  esac
done

python3 - "$results" "$GOAL_MB" "$PREFETCH" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
goal, prefetch = sys.argv[2], sys.argv[3]
print(f"Memory: one worker, concurrency 2 (both slots held by sleeping tasks), --prefetch {prefetch}; RSS from /proc/PID/status")
print("  %-8s %9s %11s %10s %9s %8s %13s %9s %12s %12s   %s" % (
    "store", "queued", "enqueue s", "enqueue/s", "reserved", "fill s", "supervisor", "peak", "python child", "node child", "goal"))
for store, queued, enq_s, enq_rate, reserved, fill_s, rss, hwm, py, js, verdict in rows:
    print("  %-8s %9s %11s %10s %9s %8s %10s MB %6s MB %9s MB %9s MB   supervisor <= %s MB: %s" % (
        store, f"{int(queued):,}", enq_s, f"{int(enq_rate):,}", f"{int(reserved):,}", fill_s, rss, hwm, py, js, goal, verdict))
PY
exit $status
