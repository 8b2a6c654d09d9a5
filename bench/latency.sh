#!/usr/bin/env bash
# Enqueue-to-start latency (opt-in, not CI), Stem on each broker beside BullMQ and
# graphile-worker, in one run. Light load: a long-lived producer publishes no-op tasks one at a
# time at RATE per second for SECONDS; then a burst of 10 x RATE in one call. p50 / p99 / max.
#
# Stem: one worker (warm Python pool, concurrency C) per broker; the producer is the Python SDK
# over one `stem serve` (one keep-alive connection, no connect per publish). Two measures:
#   producer ts -> task   the task (bench/tasks/stamp.py) returns CLOCK_MONOTONIC at the start
#                         of its function minus the producer's CLOCK_MONOTONIC just before the
#                         publish call, passed as its argument (the HTTP hop included);
#   record                started_at - created_at of the task record (ms, wall clock): the
#                         envelope made by the server -> the supervisor handing it to a child.
# Peers (bench/latency_peers.js, PEERS=0 skips them): BullMQ (in-process Worker, concurrency
# 50; add() one at a time, addBulk for the burst) and graphile-worker (in-process task,
# concurrency 24, with localQueue 500 and batched completion as in its drain line, and with
# its defaults, no local queue; addJob one at a time, addJobs for the burst), the processor
# measuring against the producer's CLOCK_MONOTONIC timestamp in the job's data.
#
#   bench/latency.sh                          # RATE=100 SECONDS=5 C=4 on sqlite, redis, postgres + peers
#   STORES="redis" RATE=200 PEERS=0 bench/latency.sh
#
# Goals (light load, Stem): Redis p50 <= 1 ms and p99 <= 5 ms; Postgres p50 <= 3 ms; SQLite
# p50 <= 5 ms. The table prints each line beside its broker's goal.
# Knobs: RATE, SECONDS (or LAT_SECONDS), C, STORES, PEERS (1), PEERS_DIR (/tmp/stem-peers), REDIS_URL (default
# redis://127.0.0.1:6379/9), PG_URL, STEM_BIN (a prebuilt binary), BUILD=0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
RATE=${RATE:-100}
# SECONDS is bash's own clock (seconds since the shell started: 0 here unless the caller set
# it), so a value under 1 means "not given".
SECONDS_=${LAT_SECONDS:-$SECONDS}
[ "$SECONDS_" -ge 1 ] 2>/dev/null || SECONDS_=5
C=${C:-4}
STORES=${STORES:-"sqlite redis postgres"}
PEERS=${PEERS:-1}
PEERS_DIR=${PEERS_DIR:-/tmp/stem-peers}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/9}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
if [ -z "${STEM_BIN:-}" ]; then
  [ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
[ -x "$STEM_BIN" ] || { echo "latency.sh: no stem binary at $STEM_BIN" >&2; exit 2; }
[ -f "$here/tasks/stamp.py" ] || { echo "latency.sh: bench/tasks/stamp.py is missing" >&2; exit 2; }
PY=$(python3 -c 'import sys; print(sys.executable)')
work=$(mktemp -d /tmp/stem-bench-latency.XXXXXX)
ns_base="bench_lat_$$"
worker= server= peer=
stop() { # stop PID: TERM, wait up to 10 s, then KILL
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  stop "$peer"; stop "$worker"; stop "$server"
  redis-cli -u "$REDIS_URL" --scan --pattern "${ns_base}_*" 2>/dev/null | xargs -r -n 500 redis-cli -u "$REDIS_URL" unlink >/dev/null 2>&1 || true
  redis-cli -u "$REDIS_URL" --scan --pattern "stem_peer_lat_$$*" 2>/dev/null | xargs -r -n 500 redis-cli -u "$REDIS_URL" unlink >/dev/null 2>&1 || true
  psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS ${ns_base}_postgres CASCADE" >/dev/null 2>&1 || true
  # latency_peers.js drops its database itself; this covers a producer killed before it could.
  psql -q "${PG_URL%/*}/postgres" -c "DROP DATABASE IF EXISTS stem_peer_lat_$$_graphile WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cat > "$work/stem.toml" <<TOML
[runtimes.python]
command = ["$PY", "$here/tasks/stamp.py"]
isolation = "pool"

[tasks.stamp]
runtime = "python"
TOML
lat="$work/latency.tsv"
: >"$lat"
cd "$work"
for store in $STORES; do
  case $store in
    sqlite) url="sqlite://$work/$store.db" ;;
    redis) url=$REDIS_URL; redis-cli -u "$url" ping >/dev/null 2>&1 || { echo "latency.sh: redis at $url does not answer" >&2; exit 1; } ;;
    postgres) url=$PG_URL; psql -q "$url" -c 'select 1' >/dev/null 2>&1 || { echo "latency.sh: postgres at $url does not answer" >&2; exit 1; } ;;
    *) echo "latency.sh: unknown store $store" >&2; exit 2 ;;
  esac
  echo "== stem on $store" >&2
  export STEM_BROKER_URL=$url STEM_RESULT_BACKEND_URL=$url STEM_REVOKE_STORE_URL=$url STEM_NAMESPACE="${ns_base}_$store"
  "$STEM_BIN" worker --manifest stem.toml --concurrency "$C" 2>"worker-$store.log" &
  worker=$!
  ready=
  for _ in $(seq 200); do grep -qs "worker ready" "worker-$store.log" && { ready=1; break; }; kill -0 "$worker" 2>/dev/null || break; sleep 0.1; done
  [ -n "$ready" ] || { echo "latency.sh: the $store worker did not start: $(tail -n 2 "worker-$store.log" | tr '\n' ' ')" >&2; exit 1; }
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$STEM_BIN" serve --listen "127.0.0.1:$port" --manifest stem.toml >"serve-$store.log" 2>&1 &
  server=$!
  ready=
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && { ready=1; break; }; sleep 0.1; done
  [ -n "$ready" ] || { echo "latency.sh: stem serve on $store did not answer: $(tail -n 2 "serve-$store.log" | tr '\n' ' ')" >&2; exit 1; }
  PYTHONPATH="$root/sdk-python" "$PY" - "$STEM_BIN" "$RATE" "$SECONDS_" "$store" "http://127.0.0.1:$port" "$C" >>"$lat" <<'PY'
import json, subprocess, sys, time
from stem_sdk import Client
stem, rate, seconds, store, api, c = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
client = Client(api)
mono = lambda: time.monotonic() * 1000

def publish(n):
    t = mono()
    if n == 1:
        return [client.enqueue("stamp", [t]).id]
    return [r.id for r in client.enqueue_many([("stamp", [t])] * n)]

def records(ids):
    deadline = time.time() + 120
    while True:
        out = subprocess.run([stem, "tasks", "list", "--task", "stamp", "--state", "success", "--limit", "100000", "--json"],
                             text=True, capture_output=True)
        if out.returncode != 0:
            sys.exit("stem tasks list failed: " + out.stderr.strip())
        recs = {r["id"]: r for r in json.loads(out.stdout)}
        if all(i in recs for i in ids):
            return [recs[i] for i in ids]
        if time.time() > deadline:
            sys.exit(f"{store}: {sum(i in recs for i in ids)} of {len(ids)} tasks succeeded in 120 s")
        time.sleep(0.2)

def emit(phase, recs):
    if not recs:
        sys.exit(f"{store}: no tasks published in the {phase} phase")
    line = f"stem {store}, python pool c={c}"
    for measure, ms in (("producer ts -> task", [r["result"] for r in recs]),
                        ("record created -> started", [r["started_at"] - r["created_at"] for r in recs])):
        ms = sorted(ms)
        pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
        print("\t".join([line, measure, phase, str(len(ms)), "%.2f" % pick(0.5), "%.2f" % pick(0.99), "%.2f" % ms[-1]]))

records(publish(20))  # warm the pool and the connections
time.sleep(1)
ids, step, end = [], 1 / rate, time.time() + seconds
while time.time() < end:
    t = time.time()
    ids += publish(1)
    time.sleep(max(0, step - (time.time() - t)))
light = records(ids)
time.sleep(1)
burst = records(publish(int(10 * rate)))
emit(f"light {rate:g}/s", light)
emit(f"burst of {int(10 * rate)}", burst)
PY
  stop "$worker"; stop "$server"; worker= server=
done

if [ "$PEERS" != 0 ]; then
  [ -d "$PEERS_DIR/bull/node_modules/bullmq" ] && [ -d "$PEERS_DIR/gw/node_modules/graphile-worker" ] \
    || { echo "latency.sh: the peers are not installed in $PEERS_DIR (bench/peers/setup.sh)" >&2; exit 1; }
  for p in "bullmq" "graphile GW_LOCAL_QUEUE=500" "graphile GW_LOCAL_QUEUE=-1"; do
    read -r name extra <<<"$p"
    echo "== $name ${extra:-}" >&2
    env ${extra:+"$extra"} DIR="$PEERS_DIR" RATE="$RATE" SECONDS="$SECONDS_" REDIS_URL="$REDIS_URL" PG="${PG_URL%/*}" \
      LAT_TAG="stem_peer_lat_$$_${name}" node "$here/latency_peers.js" "$name" >>"$lat" 2>"$work/peer.err" &
    peer=$!
    wait "$peer" || { echo "latency.sh: $name failed: $(tail -n 2 "$work/peer.err" | tr '\n' ' ')" >&2; exit 1; }
    peer=
  done
fi

python3 - "$lat" "$RATE" "$SECONDS_" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
rate, seconds = sys.argv[2], sys.argv[3]
GOALS = {"redis": (1.0, 5.0), "postgres": (3.0, None), "sqlite": (5.0, None)}
lines = {}
for line, measure, phase, n, p50, p99, mx in rows:
    lines.setdefault((line, measure), {})["light" if phase.startswith("light") else "burst"] = (phase, n, float(p50), float(p99), float(mx))
phases = {k: v[0] for d in lines.values() for k, v in d.items()}
print(f"Enqueue -> start latency, ms: light = one publish at a time at {rate}/s for {seconds} s; burst = one batch call")
print("  %-50s %-26s | %-28s | %-28s | %s" % ("line", "measure", phases.get("light", "light"), phases.get("burst", "burst"), "goal (light load)"))
print("  %-50s %-26s | %5s %7s %7s %7s | %5s %7s %7s %7s |" % ("", "", "n", "p50", "p99", "max", "n", "p50", "p99", "max"))
for (line, measure), d in lines.items():
    cells = []
    for ph in ("light", "burst"):
        if ph in d:
            _, n, p50, p99, mx = d[ph]
            cells.append("%5s %7.2f %7.2f %7.2f" % (n, p50, p99, mx))
        else:
            cells.append("%5s %7s %7s %7s" % ("-", "-", "-", "-"))
    broker = next((b for b in GOALS if b in line), "redis" if "bullmq" in line else "postgres" if "graphile" in line else None)
    goal = ""
    if broker and "light" in d:
        g50, g99 = GOALS[broker]
        _, _, p50, p99, _ = d["light"]
        met = p50 <= g50 and (g99 is None or p99 <= g99)
        goal = "%s p50 <= %g%s: %s" % (broker, g50, " p99 <= %g" % g99 if g99 else "", "ok" if met else "NO")
        if not line.startswith("stem"):
            goal = "(%s)" % goal
    print("  %-50s %-26s | %s | %s | %s" % (line, measure, cells[0], cells[1], goal))
print("  (goals are Stem's; beside a peer they are in parentheses, for comparison only)")
PY
