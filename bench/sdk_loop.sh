#!/usr/bin/env bash
# The SDK child loops' cost per task, per SDK: the CPU of `execute` in-process (no pipe;
# sdk_loop.py, sdk_loop.js), and the round trip over a real child's pipe (child_floor.py) one
# task at a time and with 32 lines in flight, with the child's CPU per task. Prints figures only;
# nothing is asserted. N (default 20000) tasks per pipe run, ROUNDS (default 5) in-process runs.
#
# usage: bench/sdk_loop.sh          (PY=python3 NODE=node by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PY=${PY:-python3}
NODE=${NODE:-node}
N=${N:-20000}
ROUNDS=${ROUNDS:-5}

pipe() {
  local label=$1 depth=$2; shift 2
  local r
  r=$("$PY" "$here/child_floor.py" --depth "$depth" --cpu pool "$N" "$@")
  read -r rate wall cpu <<<"$r"
  printf '  %-28s %8s tasks/s  %7s us wall/task  %6s us child CPU/task\n' "$label" "$rate" "$wall" "$cpu"
}

echo "python ($("$PY" --version 2>&1))"
printf '  %-28s %8s us CPU/task\n' "execute in-process" "$("$PY" "$here/sdk_loop.py" 50000 "$ROUNDS")"
pipe "pipe, 1 in flight" 1
pipe "pipe, 32 in flight" 32
echo "node ($("$NODE" --version))"
printf '  %-28s %8s us CPU/task\n' "execute in-process" "$("$NODE" "$here/sdk_loop.js" 50000 "$ROUNDS")"
pipe "pipe, 1 in flight" 1 "$NODE"
pipe "pipe, 32 in flight" 32 "$NODE"
