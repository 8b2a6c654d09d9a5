#!/usr/bin/env bash
# What containing a task's process tree costs per task: the spawn and teardown of `true`
# (1) bare, as a shell loop; (2) in a cgroup v2 of its own, entered before exec, killed with
# cgroup.kill and removed (what the worker does per child when it may make cgroups); and end to
# end, a worker running N `exec = ["true"]` tasks (SQLite, concurrency 2) (3) with cgroups and
# (4) with `STEM_CGROUP=off` (the tracked /proc tree walk). Prints microseconds per task.
# Not run in CI. Knobs: N (default 300), STEM_BIN (else a release build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
N=${N:-300}
if [ -z "${STEM_BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="$root/target/release/stem"
fi
now_us() { echo $(($(date +%s%N) / 1000)); }

t0=$(now_us)
for _ in $(seq "$N"); do sh -c true; done
bare=$((($(now_us) - t0) / N))
printf '%-44s %8s us/task\n' "spawn+wait, bare" "$bare"

cg=$(awk '$9 == "cgroup2" { print $5; exit }' FS=' ' /proc/self/mountinfo 2>/dev/null || true)
if [ -n "$cg" ] && mkdir "$cg/stem-bench-$$" 2>/dev/null; then
  base="$cg/stem-bench-$$"
  t0=$(now_us)
  for i in $(seq "$N"); do
    d="$base/c$i"
    mkdir "$d"
    sh -c "echo 0 > $d/cgroup.procs; exec true"
    echo 1 >"$d/cgroup.kill" 2>/dev/null || true
    rmdir "$d" 2>/dev/null || { sleep 0.01; rmdir "$d"; }
  done
  with=$((($(now_us) - t0) / N))
  rmdir "$base"
  printf '%-44s %8s us/task (+%s)\n' "spawn+wait in its own cgroup, kill, rmdir" "$with" "$((with - bare))"
else
  echo "no writable cgroup v2 here: the cgroup figures are skipped"
fi

worker_run() {
  local label=$1 mode=$2 dir
  dir=$(mktemp -d /tmp/stem-tree-bench.XXXXXX)
  printf '[tasks.noop]\nexec = ["true"]\nmax_retries = 0\n' >"$dir/stem.toml"
  (cd "$dir" && "$STEM_BIN" enqueue noop --repeat "$N" >/dev/null)
  local t0 pid done=0
  t0=$(now_us)
  (cd "$dir" && STEM_CGROUP=$mode exec "$STEM_BIN" worker --concurrency 2 >"$dir/worker.log" 2>&1) &
  pid=$!
  while [ "$done" -lt "$N" ]; do
    sleep 0.2
    done=$(cd "$dir" && "$STEM_BIN" worker stats --json --timeout 2s 2>/dev/null |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(v.get("succeeded",0) for v in d.values()))' 2>/dev/null || echo 0)
  done
  local us=$((($(now_us) - t0) / N))
  kill -TERM "$pid"; wait "$pid" || true
  grep -o 'task process trees: [^"]*' "$dir/worker.log" | head -1 | sed 's/^/    /'
  printf '%-44s %8s us/task\n' "$label" "$us"
  rm -rf "$dir"
}
worker_run "worker, $N exec tasks, cgroups (auto)" auto
worker_run "worker, $N exec tasks, STEM_CGROUP=off" off
