#!/usr/bin/env bash
# The worker-core before/after check: the warm Python pool drain on SQLite, Redis and Postgres
# for two builds of stem (BEFORE, default the last commit before the dispatcher and the fenced
# commit; AFTER, default this checkout), each in its own bench/run.sh job beside BullMQ's
# sandboxed processors measured in that same job, and the ratios side by side.
#
#   bench/before_after.sh               # BEFORE=59a0362 AFTER=HEAD
#   BEFORE=<rev> bench/before_after.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BEFORE=${BEFORE:-59a0362}
work=$(mktemp -d /tmp/stem-before-after.XXXXXX)
trap 'git -C "$root" worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

echo "== building $BEFORE (release)" >&2
git -C "$root" worktree add -q --detach "$work/src" "$BEFORE"
CARGO_TARGET_DIR="$work/target" cargo build --release --quiet --manifest-path "$work/src/Cargo.toml" --bin stem
echo "== building this checkout (release)" >&2
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
after_bin=${CARGO_TARGET_DIR:-$root/target}/release/stem

run() {
  STEM_BIN=$2 MODES=py-pool PEER_SET=bullmq-sandboxed START_RUNS=${START_RUNS:-5} "$here/run.sh" >"$work/$1.out" 2>"$work/$1.err" \
    || { tail -n 20 "$work/$1.err" >&2; exit 1; }
  cp "$here/results/latest.txt" "$work/$1.txt"
}
echo "== before: $BEFORE" >&2
run before "$work/target/release/stem"
echo "== after: $(git -C "$root" rev-parse --short HEAD)" >&2
run after "$after_bin"
python3 "$here/report_before_after.py" "$work/before.txt" "$work/after.txt" "$BEFORE" "$(git -C "$root" rev-parse --short HEAD)"
