#!/usr/bin/env bash
# Workflows benchmark (opt-in, not CI), per store: (1) R runs of a 10-step no-op workflow beside
# R ten-task chains of the same no-op, each drained by a burst worker (warm Python pool, C
# slots): steps/s against chained tasks/s and the ratio; (2) the worker's memory (RSS) idle and
# then with PARKED runs suspended on events (each run replayed once, then parked in the store).
# Runs are started over `stem serve`'s HTTP API. Each store run uses its own namespace (Redis
# keys and the Postgres schema are removed afterwards; nothing is flushed).
#
#   bench/workflows.sh                           # STORES="sqlite redis postgres", R=300, PARKED=100000
#   R=50 PARKED=2000 STORES=sqlite bench/workflows.sh     # a smoke run
#
# Knobs: STORES, R, C (default 2), PARKED, REDIS_URL (default redis://127.0.0.1:6379/9), PG_URL
# (default postgres://postgres@127.0.0.1:5432/test), STEM_BIN uses a prebuilt binary, BUILD=0
# skips the build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
STORES=${STORES:-sqlite redis postgres}
R=${R:-300}
C=${C:-2}
PARKED=${PARKED:-100000}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/9}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
if [ -z "${STEM_BIN:-}" ]; then
  [ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
stem=$STEM_BIN

work=$(mktemp -d /tmp/stem-bench-wf.XXXXXX)
namespaces=()
pids=()
forget() { # STORE NS
  case $1 in
    redis) redis-cli -u "$REDIS_URL" --scan --pattern "$2:*" 2>/dev/null |
      xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true ;;
    postgres) psql -q "$PG_URL" -c "drop schema if exists $2 cascade" >/dev/null 2>&1 || true ;;
  esac
}
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for entry in "${namespaces[@]}"; do forget ${entry%%:*} ${entry#*:}; done
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
say() { printf '== %s\n' "$*" >&2; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

manifest="$work/stem.toml"
sed "s#\"../tasks/flows.py\"#\"$here/tasks/flows.py\"#" "$here/manifests/py-workflows.toml" >"$manifest"
python3 -c "
import json
json.dump({'chain': [{'task': 'noop', 'args': [i]} for i in range(10)]}, open('$work/chain.json', 'w'))
"

# use STORE NS: the environment pointing every command at STORE under namespace NS.
use() {
  namespaces+=("$1:$2")
  export STEM_NAMESPACE=$2
  case $1 in
    sqlite) export STEM_BROKER_URL="sqlite://$work/$2.db" STEM_RESULT_BACKEND_URL="sqlite://$work/$2.db" STEM_REVOKE_STORE_URL="sqlite://$work/$2.db" ;;
    redis) export STEM_BROKER_URL=$REDIS_URL STEM_RESULT_BACKEND_URL=$REDIS_URL STEM_REVOKE_STORE_URL=$REDIS_URL ;;
    postgres) export STEM_BROKER_URL=$PG_URL STEM_RESULT_BACKEND_URL=$PG_URL STEM_REVOKE_STORE_URL=$PG_URL ;;
  esac
}

# serve LOG: starts `stem serve` on a free port; sets $api and remembers the pid.
serve() {
  "$stem" serve --listen 127.0.0.1:0 --manifest "$manifest" >"$1.out" 2>"$1" &
  pids+=($!)
  for _ in $(seq 100); do grep -q 'listening on' "$1.out" && break; sleep 0.1; done
  api=$(sed -n 's/^stem serve: listening on //p' "$1.out")
  [ -n "$api" ] || { echo "workflows.sh: stem serve did not start: $(tail -n 2 "$1")" >&2; exit 1; }
}

# burst LOG: a burst worker (C slots) until its queue is empty; prints its wall seconds.
burst() {
  local t0 t1
  t0=$(now)
  timeout 900 "$stem" worker --manifest "$manifest" --concurrency "$C" --burst >>"$1" 2>&1
  t1=$(now)
  python3 -c "print('%.3f' % ($t1 - $t0))"
}

results=()
for store in $STORES; do
  case $store in
    redis) redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 || { say "skipping redis: $REDIS_URL does not answer"; continue; } ;;
    postgres) psql -q "$PG_URL" -c 'select 1' >/dev/null 2>&1 || { say "skipping postgres: $PG_URL does not answer"; continue; } ;;
  esac

  say "$store: $R runs of a 10-step no-op workflow, burst worker, concurrency $C"
  use "$store" "bench_wf_$$_${store}_ten"
  serve "$work/$store-ten-serve.log"
  python3 "$here/wf_start.py" "$api" ten "$R" 4 >&2
  wall=$(burst "$work/$store-ten.log")
  python3 "$here/wf_start.py" "$api" --until completed "$R" 30
  kill "${pids[-1]}"
  steps=$(python3 -c "print('%.0f' % ($R * 10 / $wall))")

  say "$store: $R chains of 10 no-op tasks, burst worker, concurrency $C"
  use "$store" "bench_wf_$$_${store}_chain"
  for _ in $(seq "$R"); do "$stem" canvas submit "$work/chain.json" --manifest "$manifest" >/dev/null; done
  wall=$(burst "$work/$store-chain.log")
  left=$("$stem" tasks list --state pending --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' || echo "?")
  tasks=$(python3 -c "print('%.0f' % ($R * 10 / $wall))")
  ratio=$(python3 -c "print('%.2f' % ($steps / $tasks))")
  results+=("workflow steps $store py-pool c=$C: $steps steps/s; ten-task chains: $tasks tasks/s; ratio ${ratio}x (R=$R, $left chain tasks left pending)")
  echo "${results[-1]}"

  say "$store: worker memory with $PARKED runs suspended on events"
  use "$store" "bench_wf_$$_${store}_parked"
  serve "$work/$store-parked-serve.log"
  "$stem" worker --manifest "$manifest" --concurrency "$C" >"$work/$store-parked.log" 2>&1 &
  worker=$!; pids+=("$worker")
  for _ in $(seq 200); do grep -qs "worker ready" "$work/$store-parked.log" && break; sleep 0.1; done
  # A first WARM runs bring the pool, the allocator and the caches to their working size; what
  # the worker holds per suspended run is the growth from there to PARKED.
  warm=$((PARKED / 100 > 100 ? PARKED / 100 : 100))
  python3 "$here/wf_start.py" "$api" parked "$warm" 8 >&2
  python3 "$here/wf_start.py" "$api" --until suspended "$warm" 600
  idle=$(rss_kb "$worker")
  t0=$(now)
  python3 "$here/wf_start.py" "$api" parked "$PARKED" 8 >&2
  python3 "$here/wf_start.py" "$api" --until suspended "$((PARKED + warm))" 3600
  t1=$(now)
  parked=$(rss_kb "$worker")
  peak=$(awk '/^VmHWM/ {print $2}' "/proc/$worker/status")
  kill -TERM "$worker"; wait "$worker" 2>/dev/null || true
  kill "${pids[-2]}" 2>/dev/null || true
  per=$(python3 -c "print('%.1f' % ((($parked - $idle) * 1024) / $PARKED))")
  park_rate=$(python3 -c "print('%.0f' % ($PARKED / ($t1 - $t0 + 1e-9)))")
  results+=("workflow memory $store: worker RSS with $warm runs suspended $((idle / 1024)) MiB, with $((PARKED + warm)) suspended $((parked / 1024)) MiB (peak $((peak / 1024)) MiB; $per bytes per added suspended run); started and parked at ~$park_rate runs/s")
  echo "${results[-1]}"
done

echo
echo "== workflows: summary"
printf '%s\n' "${results[@]}"
