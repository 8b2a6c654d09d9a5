//! Two `stem beat` processes on one schedule store (SQLite, Redis, Postgres), schedules firing
//! every second; the leader is SIGSTOPped for longer than its lock and then resumed. Every fire
//! time is published once (counted from `stem-fire-time` in the tasks a worker ran): with
//! `catch_up = "all"` not one second is missing, with `latest` at most the takeover gap is.
//! `STEM_TEST_BEAT_SECONDS` (default 4) sets how long each phase runs.

use nix::sys::signal::Signal;
use std::time::{Duration, Instant};
use stem_e2e::beat::{self, every_second, fires, now_ms, wait_leader, MANIFEST};
use stem_e2e::{service_url, unique_namespace, wait_for, Env, PATIENCE};

const LOCK: &str = "2s";
const LOCK_MS: i64 = 2_000;

fn phase() -> Duration {
    let secs = std::env::var("STEM_TEST_BEAT_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4u64);
    Duration::from_secs(secs)
}

fn freeze_the_leader(env: Env) {
    env.write(
        "schedules.toml",
        &(every_second("all", "all") + &every_second("latest", "latest")),
    );
    env.stem(&["schedule", "apply", "schedules.toml"]).success();
    let mut worker = env.worker(&["--concurrency", "4"]);
    let mut a = beat::start(&env, "a", LOCK, &[]);
    wait_leader(&env, "a", &[]);
    let mut b = beat::start(&env, "b", LOCK, &[]);
    std::thread::sleep(phase());

    a.signal(Signal::SIGSTOP);
    let stopped = Instant::now();
    wait_leader(&env, "b", &[]);
    let frozen_for = Duration::from_millis(LOCK_MS as u64) + Duration::from_millis(1500);
    std::thread::sleep(frozen_for.saturating_sub(stopped.elapsed()));
    a.signal(Signal::SIGCONT);
    std::thread::sleep(phase());
    let end = now_ms();
    a.assert_alive();
    b.assert_alive();
    drop(a);
    drop(b);
    assert!(
        wait_for(PATIENCE, || env.queue_drained("default")),
        "the worker did not run every fire: {:?}\n{}",
        env.queue_counts("default"),
        env.worker_logs()
    );
    worker.assert_alive();
    let a_log = env.read("beat-a.log");
    assert!(a_log.contains("lost the lock"), "a never noticed: {a_log}");

    let all = fires(&env);
    for (id, times) in &all {
        let twice: Vec<_> = times.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            twice.is_empty(),
            "{id}: fire times published more than once: {twice:?}"
        );
    }
    let every = all.get("all").expect("schedule `all` fired");
    let (first, last) = (*every.keys().next().unwrap(), *every.keys().last().unwrap());
    let missing: Vec<i64> = (0..)
        .map(|k| first + k * 1000)
        .take_while(|t| *t <= last)
        .filter(|t| !every.contains_key(t))
        .collect();
    assert!(
        missing.is_empty(),
        "all: fire times never published: {missing:?}"
    );
    assert!(
        last >= end - 2_500,
        "all: fires stopped at {last}, the window ran to {end}"
    );
    assert!(
        every.len() as u64 >= 2 * phase().as_secs(),
        "all: only {} fires",
        every.len()
    );

    let latest = all.get("latest").expect("schedule `latest` fired");
    let (first, last) = (
        *latest.keys().next().unwrap(),
        *latest.keys().last().unwrap(),
    );
    let missing = (last - first) / 1000 + 1 - latest.len() as i64;
    // The takeover costs the lock's lease plus a tick and the grace; `latest` publishes one
    // fire for that gap, so at most those seconds are missing.
    assert!(
        missing <= LOCK_MS / 1000 + 3,
        "latest: {missing} fire times missing, more than a takeover gap: {:?}",
        latest.keys().collect::<Vec<_>>()
    );
}

#[test]
fn a_frozen_leader_publishes_nothing_twice_on_sqlite() {
    freeze_the_leader(Env::with_manifest(MANIFEST));
}

#[test]
fn a_frozen_leader_publishes_nothing_twice_on_redis() {
    let Some(url) = service_url("STEM_TEST_REDIS_URL", "beat_freeze redis") else {
        return;
    };
    freeze_the_leader(Env::with_broker(MANIFEST, &url, &unique_namespace()));
}

#[test]
fn a_frozen_leader_publishes_nothing_twice_on_postgres() {
    let Some(url) = service_url("STEM_TEST_POSTGRES_URL", "beat_freeze postgres") else {
        return;
    };
    freeze_the_leader(Env::with_broker(MANIFEST, &url, &unique_namespace()));
}
