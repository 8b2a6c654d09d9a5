#!/usr/bin/env bash
# Soak run (opt-in, bounded; not CI). On each store in turn (sequentially: one worker at a
# time, so the stores never compete for the cores), one worker (concurrency C) runs a steady
# mix published at RATE tasks/s for SOAK_MINUTES:
#   ok     80 %  a no-op that succeeds (Python pool)
#   flaky  10 %  always raises: retried twice (fixed 100 ms backoff), then a failure
#   slow    5 %  sleeps 1 s over soft_time_limit 300 ms / time_limit 600 ms: a timeout
#   hang    5 %  an exec `sleep 5` over time_limit 500 ms: killed, a timeout
# plus revokes: `stem revoke` of a just-published task every other second, and
# `stem revoke --terminate` of the latest `hang` task every 5 s. (`stem revoke` refuses, as
# unknown, a task a worker holds before its record is written; such refusals are counted and
# the revoke repeated with --force.)
# Every SAMPLE_SECONDS (60; 10 when SOAK_MINUTES < 5) it prints throughput (outcomes/s from the
# worker's counters), the supervisor's RSS (/proc/PID/status) and open descriptors
# (/proc/PID/fd). At the end it waits for the queue to drain and fails (exit 1, one line) when:
#   - a task is lost: a published id whose record is not terminal (success, failure, revoked,
#     expired) DRAIN_SECONDS after the last publish, read with `stem tasks list --since`
#     every sample (a listing holds at most 10,000 records, so windows overlap);
#   - a task ended wrongly: an `ok` that did not succeed, a `flaky` failure not on its third
#     attempt, a `slow`/`hang` that succeeded;
#   - growth: after the warm-up (WARMUP_SECONDS, default a third of the run up to 5 min), the
#     median of the last three samples is more than RSS_GROWTH_MB / FD_GROWTH above the first
#     sample after the warm-up (the least-squares slope is printed beside it);
#   - the worker exited.
#
#   bench/soak.sh                                  # 30 minutes per store: sqlite, redis, postgres
#   SOAK_MINUTES=1 bench/soak.sh                   # the short mode (about 1.5 min per store)
#   SOAK_MINUTES=10 STORES=redis RATE=100 bench/soak.sh
#
# Knobs: SOAK_MINUTES (30), STORES ("sqlite redis postgres"), RATE (50), C (8),
# SAMPLE_SECONDS, WARMUP_SECONDS, RSS_GROWTH_MB (20), FD_GROWTH (10), DRAIN_SECONDS (180),
# REDIS_URL (redis://127.0.0.1:6379/9), PG_URL, STEM_BIN (a prebuilt binary), BUILD=0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
MINUTES=${SOAK_MINUTES:-30}
STORES=${STORES:-"sqlite redis postgres"}
RATE=${RATE:-50}
C=${C:-8}
RSS_GROWTH_MB=${RSS_GROWTH_MB:-20}
FD_GROWTH=${FD_GROWTH:-10}
DRAIN_SECONDS=${DRAIN_SECONDS:-180}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/9}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
total_s=$(python3 -c "print(int(float('$MINUTES') * 60))")
[ "$total_s" -gt 0 ] || { echo "soak.sh: SOAK_MINUTES must be more than 0" >&2; exit 2; }
SAMPLE_SECONDS=${SAMPLE_SECONDS:-$( [ "$total_s" -lt 300 ] && echo 10 || echo 60 )}
WARMUP_SECONDS=${WARMUP_SECONDS:-$(( total_s / 3 < 300 ? total_s / 3 : 300 ))}
if [ -z "${STEM_BIN:-}" ]; then
  [ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
[ -x "$STEM_BIN" ] || { echo "soak.sh: no stem binary at $STEM_BIN" >&2; exit 2; }
PY=$(python3 -c 'import sys; print(sys.executable)')
work=$(mktemp -d /tmp/stem-soak.XXXXXX)
ns_base="soak_$$"
worker=
stop_worker() {
  [ -n "$worker" ] || return 0
  kill "$worker" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$worker" 2>/dev/null || break; sleep 0.1; done
  kill "$worker" 2>/dev/null || true   # a second TERM: a cold shutdown
  for _ in $(seq 50); do kill -0 "$worker" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$worker" 2>/dev/null || true
  wait "$worker" 2>/dev/null || true
  worker=
}
forget() {
  case $1 in
    redis) redis-cli -u "$REDIS_URL" --scan --pattern "${ns_base}_redis:*" 2>/dev/null | xargs -r -n 500 redis-cli -u "$REDIS_URL" unlink >/dev/null 2>&1 || true ;;
    postgres) psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS ${ns_base}_postgres CASCADE" >/dev/null 2>&1 || true ;;
  esac
}
cleanup() {
  stop_worker
  for s in $STORES; do forget "$s"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cat > "$work/stem.toml" <<TOML
[runtimes.python]
command = ["$PY", "$work/tasks.py"]
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
    redis) url=$REDIS_URL; redis-cli -u "$url" ping >/dev/null 2>&1 || { echo "soak.sh: redis at $url does not answer" >&2; exit 1; } ;;
    postgres) url=$PG_URL; psql -q "$url" -c 'select 1' >/dev/null 2>&1 || { echo "soak.sh: postgres at $url does not answer" >&2; exit 1; } ;;
    *) echo "soak.sh: unknown store $store" >&2; exit 2 ;;
  esac
  export STEM_BROKER_URL=$url STEM_RESULT_BACKEND_URL=$url STEM_REVOKE_STORE_URL=$url STEM_NAMESPACE="${ns_base}_$store" STEM_MANIFEST="$work/stem.toml"
  "$STEM_BIN" worker --concurrency "$C" --worker-id "${ns_base}_$store" 2>"worker-$store.log" &
  worker=$!
  ready=
  for _ in $(seq 200); do grep -qs "worker ready" "worker-$store.log" && { ready=1; break; }; kill -0 "$worker" 2>/dev/null || break; sleep 0.1; done
  [ -n "$ready" ] || { echo "soak.sh: the $store worker did not start: $(tail -n 2 "worker-$store.log" | tr '\n' ' ')" >&2; exit 1; }
  echo "== soak on $store: $MINUTES min at $RATE tasks/s, concurrency $C, a sample every ${SAMPLE_SECONDS}s, warm-up ${WARMUP_SECONDS}s (worker pid $worker)"
  if ! python3 - "$STEM_BIN" "$worker" "$total_s" "$RATE" "$RSS_GROWTH_MB" "$FD_GROWTH" "$SAMPLE_SECONDS" "$WARMUP_SECONDS" "$DRAIN_SECONDS" "$store" <<'PY'
import concurrent.futures, json, os, random, statistics, subprocess, sys, time
stem, pid, total_s, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
worker_id = os.environ["STEM_NAMESPACE"]
rss_allowed, fd_allowed, sample_s, warmup_s, drain_s, store = float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9]), sys.argv[10]

def fail(reason):
    print(f"  FAIL on {store}: {reason}", flush=True)
    sys.exit(1)

def cli(*args, stdin=None):
    out = subprocess.run([stem, *args], input=stdin, text=True, capture_output=True)
    if out.returncode != 0:
        fail(f"stem {' '.join(args[:2])} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
    return out.stdout

refused = 0
# `stem revoke` waits a moment for the workers' answers: run them beside the publishing loop.
revoker = concurrent.futures.ThreadPoolExecutor(4)
pending_revokes = []
def revoke_later(*args):
    pending_revokes.append(revoker.submit(revoke, *args))
def check_revokes(wait=False):
    global pending_revokes
    for f in list(pending_revokes):
        if wait or f.done():
            err = f.result()
            if err:
                fail(err)
            pending_revokes.remove(f)
def revoke(*args):
    """`stem revoke`; a task a worker holds before its record is written is refused as unknown
    (no record, not in a queue): counted, then stored with --force."""
    global refused
    out = subprocess.run([stem, "revoke", *args], text=True, capture_output=True)
    if out.returncode != 0 and "is known" in out.stderr:
        refused += 1
        out = subprocess.run([stem, "revoke", "--force", *args], text=True, capture_output=True)
    if out.returncode != 0:
        return f"stem revoke {' '.join(args)} failed: {out.stderr.strip()}"
    return None

def alive():
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False

def sample():
    if not alive():
        fail(f"the worker (pid {pid}) exited")
    rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:")) / 1024
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    stats = next(iter(json.loads(cli("worker", "stats", "--json", "--timeout", "2s", "--worker", worker_id)).values()), {})
    return {"t": time.time(), "rss": rss, "fds": fds, "processed": stats.get("processed", 0), "stats": stats}

def slope(points):  # least squares, per minute
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] / 60 for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0

# Records seen so far (latest wins). A listing returns at most 10,000 records, so instead of
# one listing at the end, every sample lists those updated in the last few sample periods
# (overlapping windows) and merges them: each record's terminal update is in some listing.
recs = {}
window_s = max(150, 3 * sample_s)
def gather():
    got = json.loads(cli("tasks", "list", "--since", f"{window_s}s", "--limit", "10000", "--json"))
    if len(got) >= 10000:
        print(f"  warning: {len(got)} records updated in {window_s}s, the listing's cap; lower RATE", flush=True)
    for r in got:
        old = recs.get(r["id"])
        if old is None or r.get("updated_at", 0) >= old.get("updated_at", 0):
            recs[r["id"]] = r

mix = ["ok"] * 80 + ["flaky"] * 10 + ["slow"] * 5 + ["hang"] * 5
rng = random.Random(7)
kinds, hangs, revokes, terminates = {}, [], 0, 0
start = time.time()
samples, last = [], sample()
tick = 0
while time.time() - start < total_s:
    tick += 1
    batch = [rng.choice(mix) for _ in range(int(rate))]
    spec = "".join(json.dumps({"task": k, "args": [len(kinds) + i]}) + "\n" for i, k in enumerate(batch))
    ids = json.loads(cli("enqueue", "--stdin", "--json", stdin=spec))["ids"]
    for i, k in zip(ids, batch):
        kinds[i] = k
    hangs += [i for i, k in zip(ids, batch) if k == "hang"]
    hangs = hangs[-20:]
    if tick % 2 == 0:
        revoke_later(rng.choice(ids))
        revokes += 1
    if tick % 5 == 0 and hangs:
        revoke_later("--terminate", hangs.pop())
        terminates += 1
    check_revokes()
    time.sleep(max(0, start + tick - time.time()))
    if time.time() - last["t"] >= sample_s - 0.5:
        s = sample()
        s["elapsed"] = s["t"] - start
        tput = (s["processed"] - last["processed"]) / (s["t"] - last["t"])
        st = s["stats"]
        print(f"  {s['elapsed'] / 60:5.1f} min: published {len(kinds)}, {tput:6.1f} outcomes/s (retries counted), rss {s['rss']:5.1f} MB, fds {s['fds']}, "
              f"succeeded {st.get('succeeded')}, failed {st.get('failed')}, retried {st.get('retried')}, revoked {st.get('revoked')}, "
              f"reserved {st.get('reserved')}, children spawned {st.get('children_spawned')}", flush=True)
        samples.append(s)
        last = s
        gather()

check_revokes(wait=True)
# Drain: every published id must reach a terminal state.
final = {"success", "failure", "revoked", "expired"}
deadline = time.time() + drain_s
while True:
    gather()
    missing = [i for i in kinds if recs.get(i, {}).get("state") not in final]
    if not missing or time.time() > deadline:
        break
    time.sleep(2)
end = sample()
by_kind = {}
for i, k in kinds.items():
    st = recs.get(i, {}).get("state", "missing")
    by_kind.setdefault(k, {}).setdefault(st, 0)
    by_kind[k][st] += 1
wrong = [i for i, k in kinds.items() if i in recs and recs[i].get("state") in final and (
    (k == "ok" and recs[i]["state"] not in ("success", "revoked"))
    or (k == "flaky" and recs[i]["state"] == "failure" and recs[i].get("attempt") != 3)
    or (k == "flaky" and recs[i]["state"] == "success")
    or (k in ("slow", "hang") and recs[i]["state"] == "success"))]
post = [s for s in samples if s["elapsed"] >= warmup_s] or samples[-1:] or [end]
base = post[0]
tail = post[-3:]
rss_growth = statistics.median(s["rss"] for s in tail) - base["rss"]
fd_growth = statistics.median(s["fds"] for s in tail) - base["fds"]
print(f"  end: {len(kinds)} published (of {int(rate) * tick} planned), {revokes} revokes, {terminates} revoke --terminate ({refused} refused as unknown, then forced); outcomes by task: "
      + "; ".join(f"{k} {json.dumps(v, sort_keys=True)}" for k, v in sorted(by_kind.items())))
print(f"  after the warm-up ({len(post)} samples from {base['elapsed'] / 60:.1f} min): rss {base['rss']:.1f} -> {tail[-1]['rss']:.1f} MB "
      f"(median of the last 3: {rss_growth:+.1f} MB, slope {slope([(s['elapsed'], s['rss']) for s in post]):+.2f} MB/min), "
      f"fds {base['fds']} -> {tail[-1]['fds']} ({fd_growth:+.0f}, slope {slope([(s['elapsed'], s['fds']) for s in post]):+.2f}/min); "
      f"after the drain: rss {end['rss']:.1f} MB, fds {end['fds']}", flush=True)
if missing:
    fail(f"{len(missing)} of {len(kinds)} tasks lost (not terminal {drain_s}s after the last publish), e.g. "
         + ", ".join(f"{i} ({kinds[i]}: {recs.get(i, {}).get('state', 'no record')})" for i in missing[:3]))
if wrong:
    fail(f"{len(wrong)} tasks ended wrongly, e.g. " + ", ".join(f"{i} ({kinds[i]}: {recs[i]['state']}, attempt {recs[i].get('attempt')})" for i in wrong[:3]))
if rss_growth > rss_allowed:
    fail(f"supervisor RSS grew {rss_growth:.1f} MB after the warm-up (allowed {rss_allowed:g})")
if fd_growth > fd_allowed:
    fail(f"open descriptors grew by {fd_growth:.0f} after the warm-up (allowed {fd_allowed})")
print(f"  ok on {store}")
PY
  then status=1; fi
  stop_worker
  forget "$store"
done
exit $status
