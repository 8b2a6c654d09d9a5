#!/usr/bin/env bash
# Soak run (opt-in, bounded; not CI): on each store, one worker drains a steady mix of tasks for
# SOAK_MINUTES (default 30): successes, failures retried twice then dead-lettered, soft/hard time
# limits, and revokes. Every minute it prints throughput, the worker's RSS and open file
# descriptors; at the end it fails when RSS or descriptors grew past the allowance, or when a
# task was lost (every published task must end success, failure, revoked, or in the dead letters).
#
#   bench/soak.sh                              # 30 minutes per store, sqlite redis postgres
#   SOAK_MINUTES=2 STORES=redis bench/soak.sh  # a short run
#
# Knobs: SOAK_MINUTES, STORES, RATE (tasks/s published, default 50), C (worker slots, 8),
# RSS_GROWTH_MB (allowed RSS growth after the first minute, 20), FD_GROWTH (10), STEM_BIN, BUILD=0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
MINUTES=${SOAK_MINUTES:-30}
STORES=${STORES:-"sqlite redis postgres"}
RATE=${RATE:-50}
C=${C:-8}
RSS_GROWTH_MB=${RSS_GROWTH_MB:-20}
FD_GROWTH=${FD_GROWTH:-10}
if [ -z "${STEM_BIN:-}" ]; then
  [ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
work=$(mktemp -d /tmp/stem-soak.XXXXXX)
worker=
cleanup() {
  [ -n "$worker" ] && kill "$worker" 2>/dev/null && wait "$worker" 2>/dev/null || true
  redis-cli -u redis://127.0.0.1:6379/9 --scan --pattern "soak_$$*" | xargs -r redis-cli -u redis://127.0.0.1:6379/9 unlink >/dev/null || true
  psql -q postgres://postgres@127.0.0.1:5432/test -c "DROP SCHEMA IF EXISTS soak_$$_postgres CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cat > "$work/stem.toml" <<TOML
[runtimes.python]
command = ["python3", "$work/tasks.py"]
isolation = "pool"

[tasks.ok]
runtime = "python"

[tasks.flaky]
runtime = "python"
max_retries = 2
retry = { backoff = "fixed", base = "100ms" }

[tasks.slow]
runtime = "python"
soft_time_limit = "300ms"
time_limit = "600ms"

[tasks.hang]
exec = ["sh", "-c", "sleep 5"]
time_limit = "500ms"
TOML
cat > "$work/tasks.py" <<PY
import sys, time
sys.path.insert(0, "$root/sdk-python")
from stem_sdk import run, task

@task("ok")
def ok(n=0):
    return n

@task("flaky")
def flaky(n=0):
    raise RuntimeError("always fails")

@task("slow")
def slow(n=0):
    time.sleep(1)

if __name__ == "__main__":
    run()
PY
cd "$work"
status=0
for store in $STORES; do
  case $store in
    sqlite) url="sqlite://$work/soak.db" ;;
    redis) url=redis://127.0.0.1:6379/9 ;;
    postgres) url=postgres://postgres@127.0.0.1:5432/test ;;
    *) echo "unknown store $store" >&2; exit 2 ;;
  esac
  export STEM_BROKER_URL=$url STEM_NAMESPACE="soak_$$_$store"
  "$STEM_BIN" worker --manifest stem.toml --concurrency "$C" 2>"worker-$store.log" &
  worker=$!
  echo "== soak on $store for $MINUTES min (worker pid $worker)"
  if ! python3 - "$STEM_BIN" "$worker" "$MINUTES" "$RATE" "$RSS_GROWTH_MB" "$FD_GROWTH" <<'PY'
import json, os, random, subprocess, sys, time
stem, pid, minutes, rate, rss_mb, fd_growth = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])

def cli(*args, stdin=None):
    out = subprocess.run([stem, *args], input=stdin, text=True, capture_output=True)
    if out.returncode != 0:
        raise SystemExit(f"stem {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout

def rss_kb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

def fds():
    return len(os.listdir(f"/proc/{pid}/fd"))

mix = ["ok"] * 80 + ["flaky"] * 10 + ["slow"] * 5 + ["hang"] * 5
published, revoked = [], 0
start = time.time()
baseline = None
minute = 0
rng = random.Random(7)
while time.time() - start < minutes * 60:
    batch = [{"task": rng.choice(mix), "args": [len(published)]} for _ in range(int(rate))]
    ids = json.loads(cli("enqueue", "--stdin", "--json", stdin="".join(json.dumps(b) + "\n" for b in batch)))["ids"]
    published += ids
    if rng.random() < 0.5:
        cli("revoke", rng.choice(ids))
        revoked += 1
    time.sleep(max(0, 1 - (time.time() - start) % 1))
    if time.time() - start >= (minute + 1) * 60:
        minute += 1
        done = json.loads(cli("observe", "metrics", "--json"))
        sample = (rss_kb(), fds())
        if baseline is None:
            baseline = sample
        print(f"  minute {minute}: published {len(published)}, rss {sample[0] / 1024:.1f} MB, fds {sample[1]}, counters {json.dumps(done, sort_keys=True)[:160]}", flush=True)
# Drain, then every task must have an end.
deadline = time.time() + 120
final = {"success", "failure", "revoked", "expired"}
while True:
    recs = {r["id"]: r["state"] for r in json.loads(cli("tasks", "list", "--limit", "1000000", "--json"))}
    missing = [i for i in published if recs.get(i) not in final]
    if not missing or time.time() > deadline:
        break
    time.sleep(2)
end = (rss_kb(), fds())
base = baseline or end
print(f"  end: {len(published)} published, {revoked} revokes, {len(missing)} without a final record; rss {base[0] / 1024:.1f} -> {end[0] / 1024:.1f} MB, fds {base[1]} -> {end[1]}")
bad = []
if missing:
    bad.append(f"{len(missing)} tasks lost, e.g. {missing[:3]}")
if (end[0] - base[0]) / 1024 > rss_mb:
    bad.append(f"RSS grew {(end[0] - base[0]) / 1024:.1f} MB (allowed {rss_mb})")
if end[1] - base[1] > fd_growth:
    bad.append(f"descriptors grew by {end[1] - base[1]} (allowed {fd_growth})")
if bad:
    print("  FAIL: " + "; ".join(bad))
    sys.exit(1)
print("  ok")
PY
  then status=1; fi
  kill "$worker"; wait "$worker" 2>/dev/null || true; worker=
done
exit $status
