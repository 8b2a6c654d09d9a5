#!/usr/bin/env bash
# Canvas benchmark (opt-in, not CI): on the local Redis, a warm Python pool drains a chord of N
# no-op members whose body is the same no-op (it gets the N results), beside a plain drain of
# N of the same no-op, beside Celery's chord of N (and Celery's plain drain) on the same Redis.
# Prints tasks/s for each; every Stem run uses its own namespace and Celery its own key prefix,
# removed afterwards (nothing is flushed).
#
#   bench/canvas.sh                      # N=10000, C=2 (worker slots / Celery processes)
#   N=1000 PEERS=0 bench/canvas.sh       # a smoke run without Celery
#
# Knobs: N, C, REDIS_URL (default redis://127.0.0.1:6379/9), PEERS_DIR (default
# /tmp/stem-peers, see bench/peers/setup.sh), PEERS=0 skips Celery, STEM_BIN uses a prebuilt
# binary, BUILD=0 skips the build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
N=${N:-10000}
C=${C:-2}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/9}
PEERS_DIR=${PEERS_DIR:-/tmp/stem-peers}
PEERS=${PEERS:-1}
if [ -z "${STEM_BIN:-}" ]; then
  [ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
stem=$STEM_BIN

work=$(mktemp -d /tmp/stem-bench-canvas.XXXXXX)
namespaces=()
forget() {
  redis-cli -u "$REDIS_URL" --scan --pattern "$1:*" 2>/dev/null |
    xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
}
cleanup() {
  for ns in "${namespaces[@]}"; do forget "$ns"; done
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
say() { printf '== %s\n' "$*" >&2; }

# The warm-pool no-op manifest, with this checkout's task file.
manifest="$work/stem.toml"
sed "s#\"../tasks/noop.py\"#\"$here/tasks/noop.py\"#" "$here/manifests/py-pool.toml" >"$manifest"

# burst NS LOG: a burst worker (C slots) until its queue is empty; prints its start time.
burst() {
  local t0
  t0=$(now)
  STEM_NAMESPACE=$1 STEM_LOG=info,stem::observe::log=debug timeout 900 \
    "$stem" worker --manifest "$manifest" --concurrency "$C" --burst >>"$2" 2>&1
  echo "$t0"
}

export STEM_BROKER_URL=$REDIS_URL STEM_RESULT_BACKEND_URL=$REDIS_URL STEM_REVOKE_STORE_URL=$REDIS_URL

say "stem plain drain: $N no-ops, warm Python pool, concurrency $C"
ns="bench_canvas_$$_plain"; namespaces+=("$ns"); log="$work/plain.log"
STEM_NAMESPACE=$ns "$stem" enqueue noop --args '[1]' --manifest "$manifest" --repeat "$N" --json >/dev/null 2>>"$log"
t0=$(burst "$ns" "$log"); t1=$(now)
IFS=$'\t' read -r plain _wall ok failed _tail <<<"$(python3 "$here/drainlog.py" "$log" "$t0" "$t1" "$N")"
echo "stem plain   redis py-pool c=$C: drain $plain/s (N=$N, $ok ok, $failed failed, worker start included)"

say "stem chord: $N no-op members and a no-op body, warm Python pool, concurrency $C"
ns="bench_canvas_$$_chord"; namespaces+=("$ns"); log="$work/chord.log"
python3 -c "
import json, sys
n = int(sys.argv[1])
json.dump({'chord': {'header': [{'task': 'noop', 'args': [i]} for i in range(n)], 'body': {'task': 'noop'}}}, sys.stdout)
" "$N" >"$work/chord.json"
s0=$(now)
id=$(STEM_NAMESPACE=$ns "$stem" canvas submit "$work/chord.json" --manifest "$manifest" 2>>"$log")
s1=$(now)
t0=$(burst "$ns" "$log"); t1=$(now)
IFS=$'\t' read -r chord _wall ok failed _tail <<<"$(python3 "$here/drainlog.py" "$log" "$t0" "$t1" "$((N + 1))")"
body=$(STEM_NAMESPACE=$ns "$stem" result "$id:b" --json)
python3 - "$body" "$N" <<'PY'
import json, sys
body, n = json.loads(sys.argv[1]), int(sys.argv[2])
assert body["state"] == "success", body
assert body["result"] == list(range(n)), "the body did not get the %d results in order" % n
PY
submit=$(python3 -c "print('%.0f' % ($N / ($s1 - $s0)))")
echo "stem chord   redis py-pool c=$C: drain $chord/s (N=$N members + 1 body, $ok ok, $failed failed, worker start included), submit $submit/s; body got the $N results in order"

if [ "$PEERS" = 1 ]; then
  say "celery chord and plain drain: $N no-ops, prefork c=$C, same Redis"
  (cd "$here/peers" && N=$N C=$C REDIS_URL=$REDIS_URL PREFIX="stembench_celery_$$:" \
    "$PEERS_DIR/venv/bin/python" celery_chord.py plain)
  namespaces+=("stembench_celery_$$")
  (cd "$here/peers" && N=$N C=$C REDIS_URL=$REDIS_URL PREFIX="stembench_celery_$$c:" \
    "$PEERS_DIR/venv/bin/python" celery_chord.py chord)
  namespaces+=("stembench_celery_$$c")
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
