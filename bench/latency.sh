#!/usr/bin/env bash
# Enqueue-to-start latency (opt-in, not CI): one worker (warm Python pool, concurrency C) on each
# broker; a long-lived producer (the Python SDK over one `stem serve`, so no connect per
# publish) publishes no-op tasks one at a time at RATE per second for SECONDS (light load), then
# a burst of 10 x RATE in one request; p50 / p99 / max of started_at - created_at.
# Stem only; the peers' figures come from bench/run.sh.
#
#   bench/latency.sh                          # RATE=100 SECONDS=5 C=4 on sqlite, redis, postgres
#   STORES="redis" RATE=200 bench/latency.sh
#
# Knobs: RATE, SECONDS, C, STORES, STEM_BIN (a prebuilt binary), BUILD=0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
RATE=${RATE:-100}
SECONDS_=${SECONDS:-5}
C=${C:-4}
STORES=${STORES:-"sqlite redis postgres"}
if [ -z "${STEM_BIN:-}" ]; then
  [ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
work=$(mktemp -d /tmp/stem-bench-latency.XXXXXX)
worker= server=
cleanup() {
  [ -n "$worker" ] && kill "$worker" 2>/dev/null && wait "$worker" 2>/dev/null || true
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  redis-cli -u redis://127.0.0.1:6379/9 --scan --pattern "bench_lat_$$*" | xargs -r redis-cli -u redis://127.0.0.1:6379/9 unlink >/dev/null || true
  for s in $STORES; do
    [ "$s" = postgres ] && psql -q postgres://postgres@127.0.0.1:5432/test -c "DROP SCHEMA IF EXISTS bench_lat_$$_postgres CASCADE" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
cat > "$work/stem.toml" <<TOML
[runtimes.python]
command = ["python3", "$here/tasks/noop.py"]
isolation = "pool"

[tasks.noop]
runtime = "python"
TOML
[ -f "$here/tasks/noop.py" ] || { echo "bench/tasks/noop.py is missing" >&2; exit 2; }
cd "$work"
for store in $STORES; do
  case $store in
    sqlite) url="sqlite://$work/$store.db" ;;
    redis) url=redis://127.0.0.1:6379/9 ;;
    postgres) url=postgres://postgres@127.0.0.1:5432/test ;;
    *) echo "unknown store $store" >&2; exit 2 ;;
  esac
  export STEM_BROKER_URL=$url STEM_NAMESPACE="bench_lat_$$_$store"
  PYTHONPATH="$root/sdk-python" "$STEM_BIN" worker --manifest stem.toml --concurrency "$C" 2>"worker-$store.log" &
  worker=$!
  for _ in $(seq 100); do grep -q "worker ready" "worker-$store.log" && break; sleep 0.1; done
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$STEM_BIN" serve --listen "127.0.0.1:$port" --manifest stem.toml 2>"serve-$store.log" &
  server=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  "$STEM_BIN" enqueue noop --repeat 20 >/dev/null   # warm the pool
  sleep 1
  PYTHONPATH="$root/sdk-python" python3 - "$STEM_BIN" "$RATE" "$SECONDS_" "$store" "http://127.0.0.1:$port" <<'PY'
import json, subprocess, sys, time
from stem_sdk import Client
stem, rate, seconds, store, api = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
client = Client(api)

def publish(n):
    if n == 1:
        return [client.enqueue("noop").id]
    return [r.id for r in client.enqueue_many([("noop", [])] * n)]

def latencies(ids):
    deadline = time.time() + 120
    while True:
        out = subprocess.run([stem, "tasks", "list", "--task", "noop", "--state", "success", "--limit", "100000", "--json"], text=True, capture_output=True, check=True)
        recs = {r["id"]: r for r in json.loads(out.stdout)}
        if all(i in recs for i in ids) or time.time() > deadline:
            return sorted(recs[i]["started_at"] - recs[i]["created_at"] for i in ids if i in recs)

def summary(name, ms):
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    print(f"  {name:<22} n={len(ms):<5} p50={pick(0.5):>4} ms  p99={pick(0.99):>4} ms  max={ms[-1]:>4} ms")

# Light load: one task every 1/rate seconds.
ids, step, end = [], 1 / rate, time.time() + seconds
while time.time() < end:
    t = time.time()
    ids += publish(1)
    time.sleep(max(0, step - (time.time() - t)))
light = latencies(ids)
time.sleep(1)
burst = latencies(publish(int(10 * rate)))
print(f"enqueue -> start on {store} (warm Python pool):")
summary(f"light {rate:g}/s", light)
summary(f"burst of {int(10 * rate)}", burst)
PY
  kill "$worker" "$server"; wait "$worker" "$server" 2>/dev/null || true; worker= server=
done
