#!/usr/bin/env bash
# The mixed cluster end to end: a Redis-backed pair (`stem serve` + worker) and a Postgres-backed
# pair side by side, each in a namespace of its own; curl enqueues to each API and checks the
# outcomes (a Node failure carries its RangeError), then lists the failures on Postgres with
# `stem tasks list`. $STEM_REDIS_URL (default redis://127.0.0.1:6379/8), $STEM_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/test). Uses $STEM_BIN, else builds stem.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${STEM_BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  export STEM_BIN="$root/target/release/stem"
fi
work=$(mktemp -d)
pids=()
unset STEM_RESULT_BACKEND_URL STEM_REVOKE_STORE_URL STEM_API_TOKENS
export STEM_NAMESPACE="example_mixed_$$"
redis=${STEM_REDIS_URL:-redis://127.0.0.1:6379/8}
postgres=${STEM_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # Best effort: drop this run's namespace from both stores.
  if command -v redis-cli >/dev/null; then
    redis-cli -u "$redis" --scan --pattern "$STEM_NAMESPACE:*" | xargs -r redis-cli -u "$redis" del >/dev/null || true
  fi
  if command -v psql >/dev/null; then
    psql -q "$postgres" -c "DROP SCHEMA IF EXISTS $STEM_NAMESPACE CASCADE" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME URL: a worker and a `stem serve` on the store at URL; prints the API's address.
start() {
  STEM_BROKER_URL=$2 "$STEM_BIN" worker --manifest "$here/stem.toml" --concurrency 2 2>"$work/$1-worker.log" &
  pids+=($!)
  STEM_BROKER_URL=$2 "$STEM_BIN" serve --listen 127.0.0.1:0 --manifest "$here/stem.toml" >"$work/$1-serve.out" 2>"$work/$1-serve.log" &
  pids+=($!)
}
start redis "$redis"
start postgres "$postgres"
for name in redis postgres; do
  for _ in $(seq 200); do grep -q "listening on" "$work/$name-serve.out" && break; sleep 0.1; done
done
redis_api=$(grep -o 'http://[0-9.:]*' "$work/redis-serve.out")
postgres_api=$(grep -o 'http://[0-9.:]*' "$work/postgres-serve.out")
echo "== Redis cluster at $redis_api, Postgres cluster at $postgres_api"

# outcome API TASK_SPEC: enqueues, long-polls until finished, prints "state result-or-error-type".
outcome() {
  local id
  id=$(curl -sf -X POST "$1/v1/tasks" -H "Content-Type: application/json" -d "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  for _ in $(seq 6); do
    line=$(curl -sf "$1/v1/tasks/$id?wait=10s" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["state"], json.dumps(r.get("result")) if r["state"] == "success" else (r.get("error") or {}).get("type", ""))')
    case "$line" in success*|failure*|revoked*) echo "$line"; return ;; esac
  done
  echo "unfinished $line"
}
check() { [ "$1" = "$2" ] || { echo "!! expected $2, got $1"; tail -20 "$work"/*.log; exit 1; }; echo "ok: $2"; }

check "$(outcome "$redis_api" '{"task": "thumbnail", "args": ["cat.png"]}')" 'success "cat.png.thumb"'
check "$(outcome "$postgres_api" '{"task": "invoice", "args": ["ada", 1250]}')" 'success {"customer": "ada", "total": "12.50"}'
check "$(outcome "$postgres_api" '{"task": "invoice", "args": ["bob", -5]}')" 'failure RangeError'
check "$(outcome "$redis_api" '{"task": "invoice", "args": ["eve", 99]}')" 'success {"customer": "eve", "total": "0.99"}'

failures=$(STEM_BROKER_URL=$postgres "$STEM_BIN" tasks list --state failure --task invoice --since 1h --json \
  | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check "$failures" 1
echo "mixed_cluster: ok"
