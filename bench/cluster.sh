#!/usr/bin/env bash
# Redis Cluster drain beside one Redis node (opt-in, not CI): N Python no-ops (warm pool, as
# bench/manifests/py-pool.toml) spread over 8 queues q1..q8, drained by WORKERS workers of
# concurrency C each listening on all 8 queues (--burst: each exits once the queues are empty),
# first on a private single redis-server, then on a private three-master Redis Cluster (the
# queues spread over its shards); prints tasks/s for both and the ratio cluster / node. Both
# servers are private (loopback ports of their own, no persistence) and stopped at the end.
#
#   bench/cluster.sh                      # N=8000 C=16 WORKERS=1
#   WORKERS=3 C=8 bench/cluster.sh        # three workers
#
# Knobs: N, C, WORKERS, PORT (first of four ports: node, then the cluster's three; their +10000
# bus ports must be free too), STEM_BIN (a prebuilt binary), BUILD=0, DRAIN_TIMEOUT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
N=${N:-8000}
C=${C:-16}
WORKERS=${WORKERS:-1}
PORT=${PORT:-27100}
QUEUES=q1,q2,q3,q4,q5,q6,q7,q8
if [ -z "${STEM_BIN:-}" ]; then
  [ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
command -v redis-server >/dev/null || { echo "cluster.sh: redis-server is not installed" >&2; exit 2; }
work=$(mktemp -d /tmp/stem-bench-cluster.XXXXXX)
servers=()
cleanup() {
  for p in "${servers[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "== $*" >&2; }
now() { date +%s.%N; }

# server PORT [ARGS...]: a private redis-server on PORT, up when it answers PING.
server() {
  local port=$1; shift
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    echo "cluster.sh: port $port is taken; set PORT to a free range" >&2; exit 2
  fi
  mkdir -p "$work/$port"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$work/$port" "$@" >"$work/redis-$port.log" 2>&1 &
  servers+=("$port")
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "cluster.sh: redis-server on $port did not start" >&2; exit 1
}

node=$PORT
c1=$((PORT + 1)) c2=$((PORT + 2)) c3=$((PORT + 3))
server "$node"
for p in $c1 $c2 $c3; do server "$p" --cluster-enabled yes --cluster-config-file "$work/$p/nodes.conf"; done
redis-cli --cluster create 127.0.0.1:$c1 127.0.0.1:$c2 127.0.0.1:$c3 --cluster-replicas 0 --cluster-yes >"$work/create.log" 2>&1
for _ in $(seq 600); do
  ok=0
  for p in $c1 $c2 $c3; do redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok' && ok=$((ok + 1)); done
  [ "$ok" = 3 ] && break
  sleep 0.05
done
[ "$ok" = 3 ] || { echo "cluster.sh: the cluster never reached cluster_state:ok" >&2; exit 1; }

PY=$(python3 -c 'import sys; print(sys.executable)')
manifest="$work/stem.toml"
sed -e "s|^command = \[\"python3\", \"../tasks/noop.py\"\]|command = [\"$PY\", \"$here/tasks/noop.py\"]|" \
  "$here/manifests/py-pool.toml" >"$manifest"

# drain NAME URL: enqueue N/8 no-ops on each queue, then time the workers to the last task.
drain() {
  local name=$1 url=$2 per=$((N / 8))
  export STEM_BROKER_URL=$url STEM_RESULT_BACKEND_URL=$url STEM_REVOKE_STORE_URL=$url STEM_NAMESPACE="bench_cluster_$$"
  for q in ${QUEUES//,/ }; do
    "$STEM_BIN" enqueue noop --args '[1]' --manifest "$manifest" --repeat "$per" --queue "$q" --json >/dev/null
  done
  local t0 t1 pids=() i
  t0=$(now)
  for i in $(seq "$WORKERS"); do
    STEM_LOG=info,stem::observe::log=debug timeout "${DRAIN_TIMEOUT:-600}" "$STEM_BIN" worker \
      --manifest "$manifest" --queues "$QUEUES" --concurrency "$C" --burst --worker-id "$name-$i" \
      >"$work/$name-$i.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || echo "   a worker exited with $?" >&2; done
  t1=$(now)
  sort "$work/$name"-*.log >"$work/$name.log"
  python3 "$here/drainlog.py" "$work/$name.log" "$t0" "$t1" "$((per * 8))"
}

say "8 queues, N=$N, $WORKERS worker(s) x $C slots, Python pool no-op; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
IFS=$'\t' read -r node_rate _ node_ok node_failed _ <<<"$(drain node "redis://127.0.0.1:$node/0")"
echo "one node:          $node_rate tasks/s ($node_ok ok, $node_failed failed)"
IFS=$'\t' read -r cl_rate _ cl_ok cl_failed _ <<<"$(drain cluster "redis+cluster://127.0.0.1:$c1,127.0.0.1:$c2,127.0.0.1:$c3")"
echo "cluster, 3 shards: $cl_rate tasks/s ($cl_ok ok, $cl_failed failed)"
for p in $c1 $c2 $c3; do
  echo "  shard $p: $(redis-cli -p "$p" dbsize) keys after the drain"
done
python3 -c "import sys; print('ratio cluster / node: %.2f' % (float(sys.argv[1]) / max(float(sys.argv[2]), 1)))" "$cl_rate" "$node_rate"
