//! Fenced commits: a worker frozen (SIGSTOP) past its lease, whose task another worker took
//! over and finished, must not commit its own late outcome when it runs again. The commit is
//! refused and said so — a WARN `stale commit` line naming the task and both workers, a
//! `stale_commit` task event, a `stale_commits` count in its stats — and the newer owner's record
//! stands, consistent with the queue and the dead letters. With a failing task the late retry
//! must not leave the task stranded in `retry` with nothing left to run it.
//! On SQLite always; on Redis, Postgres, and a Redis broker with Postgres records when
//! `STEM_TEST_REDIS_URL` / `STEM_TEST_POSTGRES_URL` are set (they say they skip otherwise).

use stem_e2e::frozen::{self, a_log, Frozen};
use stem_e2e::outcomes::{assert_consistent, events_of, stale_commit_lines, stats, wait_settled};
use stem_e2e::stores::{world, Store};
use stem_e2e::{wait_for_value, Env, PATIENCE};

/// The refusal is reported in the log, the events and the stats of `a`.
fn assert_refusal_reported(env: &Env, f: &Frozen) {
    let lines = stale_commit_lines(&f.a.log(), &f.id, "a", "b");
    assert!(
        !lines.is_empty(),
        "a logged no WARN `stale commit` of {} naming worker=a owner=b\n{}",
        f.id,
        a_log(f)
    );
    let events = wait_for_value(PATIENCE, || {
        Some(events_of(env, "stale_commit", &f.id)).filter(|e| !e.is_empty())
    });
    assert!(
        events.is_some_and(|e| e.iter().any(|e| e["worker"] == "a")),
        "no stale_commit event of {} by a",
        f.id
    );
    let counted = wait_for_value(PATIENCE, || {
        stats(env, "a").filter(|s| s["stale_commits"].as_u64().unwrap_or(0) >= 1)
    });
    assert!(
        counted.is_some(),
        "a's stats count no stale commit: {:?}",
        stats(env, "a")
    );
}

/// The task ran on both workers.
fn assert_ran_on_both(env: &Env, f: &Frozen) {
    for w in ["a", "b"] {
        assert!(
            env.read(&format!("{w}/ran.txt")).contains(&f.id),
            "{} never ran on {w}",
            f.id
        );
    }
}

/// A task that succeeds: b's success stands; no dead letter; nothing left in the queue.
fn late_success_is_refused(store: Store, test: &str) {
    let Some(env) = world(store, &frozen::manifest("1", 0), test) else {
        return;
    };
    let mut f = frozen::run(&env, 0);
    let record = env.record(&f.id);
    assert_eq!(
        record["worker"],
        "b",
        "a's late commit replaced b's record: {record}\n{}",
        a_log(&f)
    );
    assert_eq!(record["state"], "success", "{record}");
    assert_refusal_reported(&env, &f);
    assert_ran_on_both(&env, &f);
    let records = assert_consistent(&env, std::slice::from_ref(&f.id), "default");
    assert_eq!(records[&f.id]["state"], "success");
    f.a.assert_alive();
    f.b.assert_alive();
}

/// A task that always fails (one retry): b's failure stands, with its one dead letter; a's late
/// retry neither replaces it nor leaves the task in `retry` with nothing to run it, and
/// `stem result --wait` does not time out.
fn late_retry_is_refused(store: Store, test: &str) {
    let Some(env) = world(store, &frozen::manifest("1", 1), test) else {
        return;
    };
    let mut f = frozen::run(&env, 1);
    let waited = env.stem(&["result", &f.id, "--wait", "--timeout", "20", "--json"]);
    assert!(
        !waited.stderr.contains("timed out"),
        "`stem result --wait` timed out: the task is stranded: {waited:?}\n{}",
        a_log(&f)
    );
    let record = wait_settled(&env, std::slice::from_ref(&f.id), "default")[&f.id].clone();
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(
        record["worker"], "b",
        "a's late commit replaced b's record: {record}"
    );
    assert_refusal_reported(&env, &f);
    assert_ran_on_both(&env, &f);
    assert_consistent(&env, std::slice::from_ref(&f.id), "default");
    f.a.assert_alive();
    f.b.assert_alive();
}

#[test]
fn sqlite_a_frozen_workers_late_success_is_refused() {
    late_success_is_refused(
        Store::Sqlite,
        "sqlite_a_frozen_workers_late_success_is_refused",
    );
}

#[test]
fn redis_a_frozen_workers_late_success_is_refused() {
    late_success_is_refused(
        Store::Redis,
        "redis_a_frozen_workers_late_success_is_refused",
    );
}

#[test]
fn postgres_a_frozen_workers_late_success_is_refused() {
    late_success_is_refused(
        Store::Postgres,
        "postgres_a_frozen_workers_late_success_is_refused",
    );
}

#[test]
fn redis_with_postgres_results_a_frozen_workers_late_success_is_refused() {
    late_success_is_refused(
        Store::RedisWithPostgres,
        "redis_with_postgres_results_a_frozen_workers_late_success_is_refused",
    );
}

#[test]
fn sqlite_a_frozen_workers_late_retry_does_not_strand_a_failed_task() {
    late_retry_is_refused(
        Store::Sqlite,
        "sqlite_a_frozen_workers_late_retry_does_not_strand_a_failed_task",
    );
}

#[test]
fn redis_a_frozen_workers_late_retry_does_not_strand_a_failed_task() {
    late_retry_is_refused(
        Store::Redis,
        "redis_a_frozen_workers_late_retry_does_not_strand_a_failed_task",
    );
}

#[test]
fn postgres_a_frozen_workers_late_retry_does_not_strand_a_failed_task() {
    late_retry_is_refused(
        Store::Postgres,
        "postgres_a_frozen_workers_late_retry_does_not_strand_a_failed_task",
    );
}

#[test]
fn redis_with_postgres_results_a_frozen_workers_late_retry_does_not_strand_a_failed_task() {
    late_retry_is_refused(
        Store::RedisWithPostgres,
        "redis_with_postgres_results_a_frozen_workers_late_retry_does_not_strand_a_failed_task",
    );
}
