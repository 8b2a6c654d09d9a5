#!/usr/bin/env bash
# Where the time goes (opt-in, not CI): enqueue N no-ops on one broker, then record a burst worker
# (warm Python pool, concurrency C) draining them under `perf record` (the supervisor and the
# children it starts; the broker server's CPU from /proc), fold the stacks into a flame graph and print
# the cost per task by stage (bench/costs.py).
#
#   bench/profile.sh                         # BROKER=redis N=30000 C=2
#   BROKER=postgres N=10000 bench/profile.sh
#
# Needs `perf` and `inferno` (cargo install inferno: inferno-collapse-perf, inferno-flamegraph).
# Writes bench/results/profile-BROKER.svg and profile-BROKER.txt. Knobs: BROKER, N, C, FREQ,
# STEM_BIN (a prebuilt binary; else a release build with debug line tables), MANIFEST,
# WORKER_ARGS (more `stem worker` flags, e.g. "--prefetch 64"), KEEP=1 (keep the perf data).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BROKER=${BROKER:-redis}
N=${N:-30000}
C=${C:-2}
FREQ=${FREQ:-999}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/9}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
for tool in perf inferno-collapse-perf inferno-flamegraph; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (perf: linux-perf; inferno: cargo install inferno)" >&2; exit 2; }
done
if [ -z "${STEM_BIN:-}" ]; then
  CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
work=$(mktemp -d /tmp/stem-profile.XXXXXX)
ns="bench_prof_$$"
cleanup() {
  case $BROKER in
    redis) redis-cli -u "$REDIS_URL" --scan --pattern "$ns:*" | xargs -r -n 500 redis-cli -u "$REDIS_URL" unlink >/dev/null 2>&1 || true ;;
    postgres) psql -q "$PG_URL" -c "drop schema if exists $ns cascade" >/dev/null 2>&1 || true ;;
  esac
  [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
py=$(python3 -c 'import sys; print(sys.executable)')
manifest=${MANIFEST:-$work/stem.toml}
if [ -z "${MANIFEST:-}" ]; then
  sed "s#\"python3\", \"../tasks/#\"$py\", \"$here/tasks/#" "$here/manifests/py-pool.toml" >"$manifest"
fi
case $BROKER in
  sqlite) url="sqlite://$work/q.db" ;;
  redis) url=$REDIS_URL ;;
  postgres) url=$PG_URL ;;
  *) echo "error: BROKER must be sqlite, redis or postgres, not '$BROKER'" >&2; exit 2 ;;
esac
export STEM_BROKER_URL=$url STEM_RESULT_BACKEND_URL=$url STEM_REVOKE_STORE_URL=$url STEM_NAMESPACE=$ns
"$STEM_BIN" enqueue noop --args '[1]' --manifest "$manifest" --repeat "$N" --json >/dev/null
# The broker's server is another process: its CPU time is read from /proc before and after.
server_pid=
case $BROKER in
  redis) server_pid=$(redis-cli -u "$REDIS_URL" info server | sed -n 's/^process_id:\([0-9]*\).*/\1/p' | tr -d '\r') ;;
esac
cpu_of() { [ -n "$1" ] && awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
s0=$(cpu_of "$server_pid")
t0=$(date +%s.%N)
# The worker and every child it starts (perf follows forks); with the broker a local Postgres
# (a process per connection, not the worker's children), every CPU, and costs.py keeps the
# supervisor, its children and the postgres processes apart from the rest.
scope=()
[ "$BROKER" = postgres ] && scope=(-a)
perf record "${scope[@]}" -e cpu-clock -F "$FREQ" --call-graph dwarf,8192 -o "$work/perf.data" -- \
  "$STEM_BIN" worker --manifest "$manifest" --concurrency "$C" --burst ${WORKER_ARGS:-} >"$work/worker.log" 2>&1
t1=$(date +%s.%N)
s1=$(cpu_of "$server_pid")
mkdir -p "$here/results"
perf script --no-inline -i "$work/perf.data" 2>/dev/null >"$work/perf.txt"
inferno-collapse-perf --all <"$work/perf.txt" >"$work/folded.txt"
inferno-flamegraph --title "stem worker, pool c=$C, $BROKER, $N no-ops" <"$work/folded.txt" \
  >"$here/results/profile-$BROKER.svg"
{
  echo "stem worker --concurrency $C --burst, warm Python pool, $BROKER, N=$N, perf -e cpu-clock -F $FREQ --call-graph dwarf ${scope[*]}"
  python3 -c "print('wall %.2f s (%.0f tasks/s, worker start and the final empty fetch included)' % ($t1-$t0, $N/($t1-$t0)))"
  python3 "$here/costs.py" "$work/folded.txt" "$N" "$(( (s1 - s0) * 10000000 ))"
} | tee "$here/results/profile-$BROKER.txt"
echo "flame graph: bench/results/profile-$BROKER.svg"
