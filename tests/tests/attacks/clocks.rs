//! Clock attacks: a worker whose clock is an hour fast or slow (`faketime`) must not take over
//! leases another worker keeps extending, run a delayed task early or an hour late, or expire a
//! task early; it warns about its clock at start and `stem health` reports the offset. And a
//! broker outage longer than the lease must not make a worker run a delivery it had reserved
//! before the outage as well as its own re-fetched copy.
//! SQLite always; Postgres and Redis when `STEM_TEST_POSTGRES_URL` / `STEM_TEST_REDIS_URL` are
//! set (they say they skip otherwise). Without libfaketime the skew tests fail under `CI=true`
//! and skip otherwise.

use std::time::{Duration, Instant};
use stem_e2e::clocks::{faketime_available, health_with, repeated_lines};
use stem_e2e::outcomes::stale_commit_lines;
use stem_e2e::private_redis::{free_port, PrivateRedis};
use stem_e2e::stores::{unique_namespace, world, Store};
use stem_e2e::{wait_for, Env, PATIENCE};

/// `long` notes its id in `starts.txt` and runs 30 s; `probe` notes its id in `probe.txt`;
/// `due` notes its id in `due.txt`.
const MANIFEST: &str = "[tasks.long]\n\
exec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> starts.txt; sleep 30\"]\n\
time_limit = \"120s\"\n\
[tasks.probe]\n\
exec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> probe.txt\"]\n\
[tasks.due]\n\
exec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> due.txt\"]\n";

const LEASE: &str = "2s";

fn lines(env: &Env, file: &str) -> usize {
    env.read(file)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// Worker `a` runs four long tasks on a 2 s lease; worker `b`, an hour fast, fetches (a probe
/// task shows it) and for several lease periods none of a's tasks starts again.
fn fast_worker_steals_no_lease(store: Store, test: &str) {
    let Some(skew) = faketime_available(test) else {
        return;
    };
    let Some(env) = world(store, MANIFEST, test) else {
        return;
    };
    let mut a = env.worker(&[
        "--worker-id",
        "a",
        "--concurrency",
        "4",
        "--prefetch",
        "0",
        "--visibility-timeout",
        LEASE,
    ]);
    let ids: Vec<String> = (0..4).map(|_| env.enqueue("long", &[])).collect();
    let running = wait_for(PATIENCE, || lines(&env, "starts.txt") == 4);
    assert!(
        running,
        "a did not start the four tasks\n{}",
        env.worker_logs()
    );

    let b = env.worker_with_env(
        &[
            "--worker-id",
            "b",
            "--concurrency",
            "4",
            "--visibility-timeout",
            LEASE,
        ],
        &skew.vars("+1h"),
    );
    let probe = env.enqueue("probe", &[]);
    let fetching = wait_for(PATIENCE, || env.read("probe.txt").contains(&probe));
    assert!(fetching, "b never ran the probe\n{}", env.worker_logs());
    // Several lease periods with b fetching: a keeps extending, so nothing may start again.
    let stolen = wait_for(Duration::from_secs(8), || {
        !repeated_lines(&env.read("starts.txt")).is_empty()
    });
    a.assert_alive();
    assert!(
        !stolen,
        "tasks started twice while a held them: {:?} (of {ids:?})\n{}",
        repeated_lines(&env.read("starts.txt")),
        env.worker_logs()
    );
    let warned = wait_for(PATIENCE, || b.log().contains("ahead of the store's"));
    assert!(warned, "b did not warn about its clock:\n{}", b.log());

    let report = health_with(&env, &skew.vars("+1h"));
    let offset = report["clock"]["offset_ms"].as_i64().unwrap_or(0);
    assert!(
        (3_500_000..3_700_000).contains(&offset) && report["clock"]["warn"] == true,
        "stem health under +1h reports no hour of offset: {report}"
    );
    let honest = health_with(&env, &[]);
    assert_eq!(honest["clock"]["warn"], false, "{honest}");
}

/// A worker an hour slow or fast runs a task enqueued (on the real clock) with a 3 s countdown
/// and a 60 s expiry neither early nor late nor as expired.
fn skewed_worker_keeps_etas(store: Store, offset: &str, test: &str) {
    let Some(skew) = faketime_available(test) else {
        return;
    };
    let Some(env) = world(store, MANIFEST, test) else {
        return;
    };
    let _w = env.worker_with_env(
        &["--worker-id", "skewed", "--visibility-timeout", LEASE],
        &skew.vars(offset),
    );
    let enqueued = Instant::now();
    let id = env.enqueue("due", &["--countdown", "3s", "--expires", "60s"]);
    let ran = wait_for(PATIENCE, || env.read("due.txt").contains(&id));
    let after = enqueued.elapsed();
    assert!(
        ran,
        "a worker at {offset} did not run a 3 s countdown task within {PATIENCE:?}: {}\n{}",
        env.record(&id),
        env.worker_logs()
    );
    assert!(
        after >= Duration::from_millis(2_500),
        "a worker at {offset} ran a 3 s countdown task after {after:?}"
    );
    let record = env.wait_state(&id, "success");
    assert_eq!(record["state"], "success", "{record}");
}

#[test]
fn sqlite_fast_worker_steals_no_lease() {
    fast_worker_steals_no_lease(Store::Sqlite, "sqlite_fast_worker_steals_no_lease");
}

#[test]
fn postgres_fast_worker_steals_no_lease() {
    fast_worker_steals_no_lease(Store::Postgres, "postgres_fast_worker_steals_no_lease");
}

#[test]
fn redis_fast_worker_steals_no_lease() {
    fast_worker_steals_no_lease(Store::Redis, "redis_fast_worker_steals_no_lease");
}

#[test]
fn sqlite_skewed_workers_keep_etas() {
    for offset in ["+1h", "-1h"] {
        skewed_worker_keeps_etas(Store::Sqlite, offset, "sqlite_skewed_workers_keep_etas");
    }
}

#[test]
fn postgres_skewed_workers_keep_etas() {
    for offset in ["+1h", "-1h"] {
        skewed_worker_keeps_etas(Store::Postgres, offset, "postgres_skewed_workers_keep_etas");
    }
}

#[test]
fn redis_skewed_workers_keep_etas() {
    for offset in ["+1h", "-1h"] {
        skewed_worker_keeps_etas(Store::Redis, offset, "redis_skewed_workers_keep_etas");
    }
}

/// One worker (one slot, room for more) holds a running task and reserved ones when its
/// private Redis goes down for longer than the lease; after the restart every task runs
/// exactly once and no commit of its own is refused as stale.
#[test]
fn outage_longer_than_the_lease_runs_nothing_twice() {
    let Some(redis) = PrivateRedis::start(free_port(), tempfile::tempdir().expect("a temp dir"))
    else {
        eprintln!("outage_longer_than_the_lease_runs_nothing_twice: no redis-server: skipping");
        return;
    };
    let manifest = "[tasks.rec]\n\
        exec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> runs.txt; sleep 4\"]\n\
        time_limit = \"60s\"\n";
    let env = Env::with_broker(manifest, &redis.url(), &unique_namespace());
    let mut w = env.worker(&[
        "--worker-id",
        "x",
        "--concurrency",
        "1",
        "--prefetch",
        "4",
        "--visibility-timeout",
        "3s",
    ]);
    let ids: Vec<String> = (0..3).map(|_| env.enqueue("rec", &[])).collect();
    let first = wait_for(PATIENCE, || lines(&env, "runs.txt") == 1);
    assert!(first, "the first task never started\n{}", w.log());
    // All three leased by x: one running, two reserved behind it.
    let leased = wait_for(PATIENCE, || env.queue_counts("default")["leased"] == 3);
    assert!(
        leased,
        "x did not reserve the others: {}",
        env.queue_counts("default")
    );

    // Down for 8 s, well past the 3 s lease; the data survives (append-only file).
    let _redis = redis.crash_and_restart(Duration::from_secs(8));

    let settled = wait_for(PATIENCE, || {
        ids.iter().all(|id| env.record(id)["state"] == "success")
    });
    assert!(settled, "not every task succeeded\n{}", w.log());
    // A second copy would start right behind the first (one slot): give it a few runs' time.
    let twice = wait_for(Duration::from_secs(10), || {
        !repeated_lines(&env.read("runs.txt")).is_empty()
    });
    w.assert_alive();
    assert!(
        !twice,
        "tasks ran twice after the outage: {:?}\n{}",
        repeated_lines(&env.read("runs.txt")),
        w.log()
    );
    for id in &ids {
        let own = stale_commit_lines(&w.log(), id, "x", "x");
        assert!(own.is_empty(), "x's own commit refused as stale: {own:?}");
    }
    assert_eq!(lines(&env, "runs.txt"), 3, "{}", env.read("runs.txt"));
}
