#!/usr/bin/env bash
# The HTTP API's enqueue figures beside the peers' enqueue calls, in one run: a Python producer
# through `stem serve` (`Client.enqueue` one at a time, `Client.enqueue_many` in batches) on
# Redis and on Postgres, and on the same Redis Celery's `delay()` and BullMQ's `add()` and
# `addBulk()`. Prints a table with ratios and writes it to bench/results/api-latest.txt.
# Not run in CI; `bench/run.sh` calls it with API=1.
#
# Knobs: N_SINGLE (default 10000), N_BATCH (default 100000), N_PEER (default N_SINGLE),
# STORES (default "redis postgres"), REDIS_URL (default redis://127.0.0.1:6379/9), PG_URL,
# PEERS_DIR (default /tmp/stem-peers; PEERS=0 skips the peers), STEM_BIN (else a release build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
N_SINGLE=${N_SINGLE:-10000}
N_BATCH=${N_BATCH:-100000}
N_PEER=${N_PEER:-$N_SINGLE}
STORES=${STORES:-redis postgres}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/9}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PEERS_DIR=${PEERS_DIR:-/tmp/stem-peers}
PEERS=${PEERS:-1}
if [ -z "${STEM_BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="$root/target/release/stem"
fi
work=$(mktemp -d /tmp/stem-api-bench.XXXXXX)
lines="$work/lines"
: >"$lines"
server=
ns="bench_api_$$"
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  redis-cli -u "$REDIS_URL" --scan --pattern "$ns:*" | xargs -r -n 1000 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
  psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS $ns CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '== %s\n' "$*" >&2; }

for store in $STORES; do
  case $store in redis) url=$REDIS_URL ;; postgres) url=$PG_URL ;; *) say "unknown store $store"; continue ;; esac
  say "stem serve on $store"
  STEM_BROKER_URL=$url STEM_NAMESPACE=$ns STEM_LOG=warn \
    "$STEM_BIN" serve --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve-$store.log" &
  server=$!
  for _ in $(seq 200); do grep -q "listening on" "$work/serve.out" && break; sleep 0.05; done
  api=$(grep -o 'http://[0-9.:]*' "$work/serve.out")
  python3 "$here/api_enqueue.py" "$api" "$store" "$N_SINGLE" "$N_BATCH" | tee -a "$lines" >&2
  kill "$server"; wait "$server" 2>/dev/null || true
  server=
done

if [ "$PEERS" != 0 ]; then
  if [ -x "$PEERS_DIR/venv/bin/python" ]; then
    say "celery delay() (N=$N_PEER)"
    redis-cli -n 1 del celery >/dev/null   # only Celery's queue: never flush a shared Redis
    (cd "$here/peers" && "$PEERS_DIR/venv/bin/python" -c "
import time
from celery_tasks import noop
t0 = time.perf_counter()
for i in range($N_PEER): noop.delay(i)
print('celery-delay redis $N_PEER %.0f' % ($N_PEER / (time.perf_counter() - t0)))
") | tee -a "$lines" >&2
    redis-cli -n 1 del celery >/dev/null
  fi
  if [ -d "$PEERS_DIR/bull/node_modules/bullmq" ]; then
    say "bullmq add() and addBulk() (N=$N_PEER, $N_BATCH)"
    N=$N_PEER N_BULK=$N_BATCH DIR=$PEERS_DIR node "$here/peers/bullmq_add.js" | tee -a "$lines" >&2
  fi
fi

mkdir -p "$here/results"
{
  echo "# stem API enqueue $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n): $(nproc) cores"
  python3 - "$lines" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
rate = {(r[0], r[1]): float(r[3]) for r in rows}
celery = rate.get(("celery-delay", "redis"))
bulk = rate.get(("bullmq-addbulk", "redis"))
add = rate.get(("bullmq-add", "redis"))
print("%-16s %-9s %8s %10s  %s" % ("what", "store", "N", "tasks/s", "ratios"))
for what, store, n, r in rows:
    r = float(r)
    notes = []
    if what == "api-single":
        notes += ["%.2fx celery delay()" % (r / celery)] if celery else []
        notes += ["%.2fx bullmq add()" % (r / add)] if add else []
    if what == "api-batch" and bulk:
        notes.append("%.2fx bullmq addBulk()" % (r / bulk))
    print("%-16s %-9s %8s %10.0f  %s" % (what, store, n, r, ", ".join(notes)))
PY
} | tee "$here/results/api-latest.txt"
