#!/usr/bin/env bash
# The side-by-side benchmark in one job: installs the peer queues if needed, builds `stem` in
# release, times the interpreter's own start, runs the peer scripts (Celery, RQ, BullMQ,
# graphile-worker) and Stem's drains (each isolation mode on SQLite, Redis and Postgres), then
# prints one table of tasks/s with ratios to the peer lines and writes it to
# bench/results/latest.txt.
#
#   bench/run.sh                 # full run (a few minutes)
#   QUICK=1 bench/run.sh         # small N everywhere: a smoke check
#
# Knobs (environment): N_POOL N_FORKSERVER N_PROCESS N_PROCESS_ISOLATED N_NODE_POOL
# N_NODE_PROCESS N_EXEC (Stem drain sizes); N_CELERY N_RQ N_RQ_SIMPLE N_BULL N_BULL_SANDBOX
# N_GW_PY N_GW_SH N_GW_JS (peer sizes); N_POOL_POSTGRES N_FORK_POSTGRES (Postgres warm-mode sizes); BROKERS (default "sqlite redis postgres"); MODES (default all);
# PEERS=0 skips the peers; PEER_SET="bullmq-sandboxed celery" runs only those; STEM_BIN uses a prebuilt binary (STEM_REV names its commit); BUILD=0 skips the build;
# REDIS_URL (default redis://127.0.0.1:6379/9; the peer scripts flush dbs 0-3, never use them);
# PG_URL (default postgres://postgres@127.0.0.1:5432/test); PEERS_DIR (default /tmp/stem-peers);
# C (worker slots, default 2, the peers' two worker processes); API=1 also runs api_enqueue.sh
# (the HTTP API's enqueue rates beside Celery's delay() and BullMQ's add()/addBulk()).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
QUICK=${QUICK:-}
C=${C:-2}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/9}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PEERS_DIR=${PEERS_DIR:-/tmp/stem-peers}
BROKERS=${BROKERS:-sqlite redis postgres}
MODES=${MODES:-py-pool py-forkserver py-process py-process-isolated node-pool node-process exec-true}
PEERS=${PEERS:-1}
START_RUNS=${START_RUNS:-50}

# size DEFAULT QUICK_DEFAULT: the full-run size, or the quick one under QUICK=1.
size() { if [ -n "$QUICK" ]; then echo "$2"; else echo "$1"; fi; }
N_POOL=${N_POOL:-$(size 20000 500)}
N_FORKSERVER=${N_FORKSERVER:-$(size 3000 200)}
N_PROCESS=${N_PROCESS:-$(size 300 40)}
N_PROCESS_ISOLATED=${N_PROCESS_ISOLATED:-$(size 600 60)}
N_NODE_POOL=${N_NODE_POOL:-$(size 20000 500)}
N_NODE_PROCESS=${N_NODE_PROCESS:-$(size 200 30)}
N_EXEC=${N_EXEC:-$(size 3000 200)}
N_CELERY=${N_CELERY:-$(size 10000 500)}
N_RQ=${N_RQ:-$(size 1000 100)}
N_RQ_SIMPLE=${N_RQ_SIMPLE:-$(size 3000 200)}
N_BULL=${N_BULL:-$(size 20000 1000)}
N_BULL_SANDBOX=${N_BULL_SANDBOX:-$(size 5000 300)}
N_GW_PY=${N_GW_PY:-$(size 300 30)}
N_GW_SH=${N_GW_SH:-$(size 1000 100)}
N_GW_JS=${N_GW_JS:-$(size 20000 1000)}
if [ -n "$QUICK" ]; then START_RUNS=${START_RUNS_QUICK:-10}; fi

mkdir -p "$here/results"
work=$(mktemp -d /tmp/stem-bench.XXXXXX)
records="$work/records.tsv"
: >"$records"
cleanup() {
  rm -f "$here"/manifests/*.local.toml
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '== %s\n' "$*" >&2; }
# record KIND ID BROKER N RATE NOTE: one line of the results, read by report.py.
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$records"; }
now() { date +%s.%N; }

# ---- the interpreters: the same real paths for Stem and the peers ---------------------------
PY=$(python3 -c 'import sys; print(sys.executable)')
NODE=$(command -v node)
export PATH="$(dirname "$PY"):$PATH"   # the peer scripts' python3 is the real one too, not a shim
say "python: $PY ($("$PY" -V 2>&1)); node: $NODE ($("$NODE" -v))"

# ---- peers installed ------------------------------------------------------------------------
if [ "$PEERS" != 0 ]; then
  if [ ! -d "$PEERS_DIR/gw/node_modules/graphile-worker" ] || [ ! -d "$PEERS_DIR/bull/node_modules/bullmq" ] \
     || [ ! -x "$PEERS_DIR/venv/bin/celery" ]; then
    say "installing the peer queues into $PEERS_DIR"
    "$here/peers/setup.sh" "$PEERS_DIR" >&2
  fi
fi

# ---- stem, release ---------------------------------------------------------------------------
if [ -n "${STEM_BIN:-}" ]; then
  stem=$STEM_BIN
else
  target=${CARGO_TARGET_DIR:-$root/target}
  if [ "${BUILD:-1}" != 0 ]; then
    say "building stem (release, target $target)"
    CARGO_TARGET_DIR=$target cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  fi
  stem=$target/release/stem
fi
[ -x "$stem" ] || { echo "no stem binary at $stem" >&2; exit 1; }

# ---- manifests with the resolved interpreters ------------------------------------------------
# Rendered next to the originals (relative paths in them resolve against their folder).
for m in "$here"/manifests/*.toml; do
  case $m in *.local.toml) continue ;; esac
  sed -e "s|^command = \[\"python3\"|command = [\"$PY\"|" -e "s|^command = \[\"node\"|command = [\"$NODE\"|" \
    "$m" >"${m%.toml}.local.toml"
done

# ---- interpreter start cost ------------------------------------------------------------------
# start_ms LABEL CMD...: mean wall time of CMD over START_RUNS runs, in ms.
start_ms() {
  local label=$1; shift
  local t0 t1
  t0=$(now)
  for _ in $(seq "$START_RUNS"); do "$@" >/dev/null 2>&1 </dev/null; done
  t1=$(now)
  local ms
  ms=$(python3 -c "print('%.1f' % (($t1-$t0)/$START_RUNS*1000))")
  record start "$label" - "$START_RUNS" "$ms" "$*"
}
say "interpreter start cost ($START_RUNS runs each)"
start_ms python-I-S "$PY" -I -S -c pass
start_ms python "$PY" -c pass
start_ms python-noop-task "$PY" -c "import sys; sys.path.insert(0, '$root/sdk-python'); import stem_sdk"
start_ms python-I-S-noop-task "$PY" -I -S -c "import sys; sys.path.insert(0, '$root/sdk-python'); import stem_sdk"
start_ms node "$NODE" -e 0
start_ms true /bin/true

# ---- the children alone: one slot driven over the protocol, no broker, no supervisor --------
floor() {
  local label=$1 n=$2 isolation=$3; shift 3
  local r
  if r=$("$PY" "$here/child_floor.py" "$isolation" "$n" "$@" 2>"$work/floor-$label.err"); then
    record floor "$label" - "$n" "$r" ""
  else
    record floor "$label" - "$n" 0 "failed: $(tail -n 1 "$work/floor-$label.err")"
  fi
}
say "child floor (one slot, no broker)"
floor py-pool "$(size 5000 500)" pool
floor py-forkserver "$(size 1000 100)" forkserver
# The fork server's floor: bare fork + _exit + waitpid of the warm interpreter, C at once.
if r=$("$PY" "$here/fork_floor.py" "$C" "$(size 1000 100)" 2>"$work/fork-floor.err"); then
  record floor py-fork-bare - "$(size 1000 100)" "$r" ""
else
  record floor py-fork-bare - 0 0 "failed: $(tail -n 1 "$work/fork-floor.err")"
fi
floor node-pool "$(size 5000 500)" pool node
# ---- peers -----------------------------------------------------------------------------------
# peer ID N CMD...: runs one peer script, records its drain (and addBulk enqueue) rate.
peer() {
  local id=$1 n=$2; shift 2
  local out
  if [ -n "${PEER_SET:-}" ] && [[ " $PEER_SET " != *" $id "* ]]; then return; fi
  say "peer $id (N=$n)"
  if out=$(env N="$n" DIR="$PEERS_DIR" "$@" 2>"$work/peer-$id.err" | tail -n 1) && [ -n "$out" ]; then
    echo "   $out" >&2
    local drain
    drain=$(sed -n 's/.*drain \([0-9]*\)\/s.*/\1/p' <<<"$out")
    record peer "$id" redis "$n" "${drain:-0}" "$out"
    if [[ $out == *"addBulk"* ]]; then
      record peer "$id-addbulk" redis "$n" "$(sed -n 's/.*enqueue(addBulk) \([0-9]*\)\/s.*/\1/p' <<<"$out")" "$out"
    fi
  else
    echo "   failed: $(tail -n 3 "$work/peer-$id.err" | tr '\n' ' ')" >&2
    record peer "$id" redis "$n" 0 "failed: $(tail -n 1 "$work/peer-$id.err")"
  fi
}
if [ "$PEERS" != 0 ]; then
  peer celery "$N_CELERY" "$here/peers/celery.sh"
  peer rq-fork "$N_RQ" "$here/peers/rq.sh"
  peer rq-simple "$N_RQ_SIMPLE" env SIMPLE=1 "$here/peers/rq.sh"
  peer bullmq "$N_BULL" node "$here/peers/bullmq.js"
  peer bullmq-sandboxed "$N_BULL_SANDBOX" env SANDBOX=1 node "$here/peers/bullmq.js"
  # graphile-worker uses its own Postgres database (stem_peer_gw), on the Postgres Stem uses.
  peer gw-py "$N_GW_PY" env TASK=noop_py "$here/peers/graphile.sh"
  peer gw-sh "$N_GW_SH" env TASK=noop_sh "$here/peers/graphile.sh"
  # In-process JS tasks with localQueue and batched completion (its own database, dropped after).
  peer gw-js "$N_GW_JS" env PG="${PG_URL%/*}" node "$here/peers/graphile_inprocess.js"
fi

# ---- Stem ------------------------------------------------------------------------------------
# mode_n MODE BROKER: the drain size. The pools get the same N on every broker; Postgres's fork
# server and exec drains a smaller default N to keep them to a few seconds.
mode_n() {
  local n
  case $1 in
    py-pool) n=$N_POOL ;; py-forkserver) n=$N_FORKSERVER ;;
    py-process) n=$N_PROCESS ;; py-process-isolated) n=$N_PROCESS_ISOLATED ;;
    node-pool) n=$N_NODE_POOL ;; node-process) n=$N_NODE_PROCESS ;;
    exec-true) n=$N_EXEC ;;
  esac
  if [ "$2" = postgres ]; then
    case $1 in
      py-pool | node-pool) n=${N_POOL_POSTGRES:-$n} ;;
      py-forkserver | exec-true) n=${N_FORK_POSTGRES:-$(( n < 1500 ? n : 1500 ))} ;;
    esac
  fi
  echo "$n"
}

# broker_env BROKER NS: prints the STEM_* settings for one drain, or fails when unreachable.
broker_env() {
  case $1 in
    sqlite) echo "STEM_BROKER_URL=sqlite://$work/$2.db STEM_RESULT_BACKEND_URL=sqlite://$work/$2.db STEM_REVOKE_STORE_URL=sqlite://$work/$2.db" ;;
    redis) echo "STEM_BROKER_URL=$REDIS_URL STEM_RESULT_BACKEND_URL=$REDIS_URL STEM_REVOKE_STORE_URL=$REDIS_URL STEM_NAMESPACE=$2" ;;
    postgres) echo "STEM_BROKER_URL=$PG_URL STEM_RESULT_BACKEND_URL=$PG_URL STEM_REVOKE_STORE_URL=$PG_URL STEM_NAMESPACE=$2" ;;
  esac
}

# forget BROKER NS: removes what one drain left in a shared service.
forget() {
  case $1 in
    redis)
      redis-cli -u "$REDIS_URL" --scan --pattern "$2:*" 2>/dev/null |
        xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true ;;
    postgres) psql -q "$PG_URL" -c "drop schema if exists $2 cascade" >/dev/null 2>&1 || true ;;
  esac
}

# drain MODE BROKER: enqueue N no-ops (the batch enqueue rate), then time a burst worker with C
# slots from its start to the last task recorded (and to its exit), and count the successes.
drain() {
  local mode=$1 broker=$2 n ns manifest
  n=$(mode_n "$mode" "$broker")
  ns="bench_$$_${mode//-/_}"
  manifest="$here/manifests/$mode.local.toml"
  local -a envs
  read -r -a envs <<<"$(broker_env "$broker" "$ns")"
  local log="$work/$broker-$mode.log"
  say "stem $mode on $broker (N=$n, concurrency $C)"
  local enq
  if ! enq=$(env "${envs[@]}" "$stem" enqueue noop --args '[1]' --manifest "$manifest" --repeat "$n" --json 2>"$log"); then
    echo "   enqueue failed: $(tail -n 2 "$log" | tr '\n' ' ')" >&2
    record stem "$mode" "$broker" "$n" 0 "enqueue failed: $(tail -n 1 "$log")"
    forget "$broker" "$ns"
    return
  fi
  local enq_rate
  enq_rate=$(python3 -c "import json,sys; print('%.0f' % json.loads(sys.argv[1])['per_second'])" "$enq")
  record enqueue "$mode" "$broker" "$n" "$enq_rate" ""
  local t0 t1 rc=0
  t0=$(now)
  env "${envs[@]}" STEM_LOG=info,stem::observe::log=debug timeout "${DRAIN_TIMEOUT:-600}" \
    "$stem" worker --manifest "$manifest" --concurrency "$C" --burst >>"$log" 2>&1 || rc=$?
  t1=$(now)
  local d drate wrate ok failed tail
  d=$(python3 "$here/drainlog.py" "$log" "$t0" "$t1" "$n")
  IFS=$'\t' read -r drate wrate ok failed tail <<<"$d"
  local note="wall=$wrate tail=$tail ok=$ok failed=$failed"
  if [ "$rc" != 0 ]; then
    note="$note; worker exit $rc: $(grep -v '^\s*$' "$log" | tail -n 1 | cut -c1-160)"
  fi
  if [ "$rc" != 0 ] || [ "$ok" != "$n" ]; then
    cp "$log" "$here/results/failed-$broker-$mode.log" 2>/dev/null || true
  fi
  echo "   drain $drate/s (to the last task; $wrate/s to the worker's exit, ${tail}s later), $ok ok, $failed failed, enqueue $enq_rate/s" >&2
  record stem "$mode" "$broker" "$n" "$drate" "$note"
  forget "$broker" "$ns"
}

for broker in $BROKERS; do
  case $broker in
    redis) redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 || { say "skipping redis: $REDIS_URL does not answer"; record skip - redis 0 0 "no answer at $REDIS_URL"; continue; } ;;
    postgres) psql -q "$PG_URL" -c 'select 1' >/dev/null 2>&1 || { say "skipping postgres: $PG_URL does not answer"; record skip - postgres 0 0 "no answer at $PG_URL"; continue; } ;;
  esac
  for mode in $MODES; do
    drain "$mode" "$broker"
  done
done

# ---- the table -------------------------------------------------------------------------------
mkdir -p "$here/results"
{
  echo "# stem bench $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n): $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ -n "${STEM_BIN:-}" ]; then
    rev="$STEM_BIN (${STEM_REV:-a prebuilt binary})"
  else
    rev="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- adapters supervisor protocol 2>/dev/null || echo ' with uncommitted changes')"
  fi
  echo "# stem $rev, python $PY, node $NODE, concurrency $C${QUICK:+, QUICK}"
  if [ -n "$QUICK" ]; then echo "# QUICK: small N, so start-up dominates every line; a smoke check, not ratios to quote"; fi
  python3 "$here/report.py" "$records" "$C"
} | tee "$here/results/latest.txt"

if [ "${API:-0}" != 0 ]; then
  STEM_BIN=${STEM_BIN:-$stem} REDIS_URL=$REDIS_URL PG_URL=$PG_URL PEERS_DIR=$PEERS_DIR "$here/api_enqueue.sh"
fi
