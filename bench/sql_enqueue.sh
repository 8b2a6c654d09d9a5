#!/usr/bin/env bash
# Enqueue from SQL (SCHEMA.enqueue, in the application's own transaction) beside the HTTP batch
# and `stem enqueue --stdin`, in one run on Postgres, and the wake-up latency of a committed SQL
# enqueue to an idle worker: prints one line per figure and the ratios, and writes them to
# bench/results/sql-latest.txt. Not run in CI (opt-in, like latency.sh).
#
# Knobs: N (default 10000), N_LATENCY (default 50), PG_URL, STEM_BIN (else a release build).
# Needs psycopg (pip install "psycopg[binary]", as test.sh does).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
N=${N:-10000}
N_LATENCY=${N_LATENCY:-50}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
if [ -z "${STEM_BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="$root/target/release/stem"
fi
work=$(mktemp -d /tmp/stem-sql-bench.XXXXXX)
ns="bench_sql_$$"
server=
worker=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -n "$worker" ] && kill "$worker" 2>/dev/null && wait "$worker" 2>/dev/null || true
  psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS $ns CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export STEM_BROKER_URL=$PG_URL STEM_NAMESPACE=$ns STEM_LOG=warn
"$STEM_BIN" migrate >/dev/null
printf '[tasks.noop]\nexec = ["true"]\n' >"$work/stem.toml"
(cd "$work" && exec "$STEM_BIN" worker --manifest stem.toml --concurrency 2 --queues default) 2>"$work/worker.log" &
worker=$!
(cd "$work" && exec "$STEM_BIN" serve --listen 127.0.0.1:0) >"$work/serve.out" 2>"$work/serve.log" &
server=$!
for _ in $(seq 200); do grep -q "listening on" "$work/serve.out" && break; sleep 0.05; done
api=$(grep -o 'http://[0-9.:]*' "$work/serve.out")
mkdir -p "$here/results"
{
  echo "# stem SQL enqueue $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n): $(nproc) cores, N=$N"
  cd "$work" && python3 "$here/sql_enqueue.py" "$PG_URL" "$ns" "$api" "$STEM_BIN" "$N" "$N_LATENCY"
} | tee "$here/results/sql-latest.txt"
