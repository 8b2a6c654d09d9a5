//! Issue 5: revokes — `revoke --terminate` stops a running task's whole process group (TERM,
//! then KILL after the grace), records `revoked` and does not retry it; a task revoked before
//! it starts never spawns a process, on a running worker and on one started after the revoke.

use std::time::Duration;
use stem_e2e::{fake_runtime, procs, wait_for, Env, PATIENCE};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");

/// Revokes a running task with `--terminate` and checks that its group is gone, the record is
/// `revoked` after one attempt, and nothing is left to retry.
fn terminate_and_check(env: &Env, id: &str, needles: &[&str], within: Duration) {
    env.wait_state(id, "started");
    let seen = wait_for(PATIENCE, || {
        needles
            .iter()
            .all(|n| !procs::matching(n, env.path()).is_empty())
    });
    assert!(seen, "the task's processes never showed up");
    env.stem(&["revoke", id, "--terminate"]).success();
    let record = env.outcome(id);
    assert_eq!(record["state"], "revoked", "{record}");
    assert_eq!(record["attempt"], 1, "{record}");
    let gone = wait_for(within, || {
        needles
            .iter()
            .all(|n| procs::matching(n, env.path()).is_empty())
    });
    assert!(gone, "a process of the revoked task survived {within:?}");
    assert!(
        env.queue_drained("default"),
        "{}",
        env.queue_counts("default")
    );
    let stats = env.stem(&["worker", "stats", "--json"]).success().json();
    let stats = stats.as_object().unwrap().values().next().unwrap().clone();
    assert_eq!(stats["retried"], 0, "{stats}");
    assert_eq!(stats["revoked"], 1, "{stats}");
    assert_eq!(env.record(id)["state"], "revoked");
}

#[test]
fn revoke_terminate_stops_a_task_and_its_grandchild() {
    let env = Env::with_manifest(
        "[tasks.long]\nexec = [\"sh\", \"-c\", \"sleep 600 & sleep 600; wait\"]\nmax_retries = 3\n",
    );
    // TERM alone must end them: KILL would only come after the 60 s grace.
    let _worker = env.worker(&["--terminate-grace", "60s"]);
    let id = env.enqueue("long", &[]);
    terminate_and_check(&env, &id, &["sleep 600"], Duration::from_secs(30));
}

#[test]
fn revoke_terminate_kills_a_child_that_ignores_term_after_the_grace() {
    let env = Env::with_manifest(&format!(
        "{}\n[tasks.stubborn_grandchild]\nruntime = \"fake\"\nmax_retries = 3\n",
        fake_runtime("fake", FAKE, "process")
    ));
    let _worker = env.worker(&["--terminate-grace", "1s"]);
    let id = env.enqueue("stubborn_grandchild", &[]);
    terminate_and_check(
        &env,
        &id,
        &["stem-fake-task", "sleep 1000"],
        Duration::from_secs(20),
    );
}

const SPY: &str = "[tasks.spy]\nexec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> spawned.txt\"]\n";

#[test]
fn a_task_revoked_before_it_starts_never_spawns() {
    let env = Env::with_manifest(SPY);
    let _worker = env.worker(&[]);
    let id = env.enqueue("spy", &["--countdown", "3"]);
    env.stem(&["revoke", &id]).success();
    let record = env.outcome(&id);
    assert_eq!(record["state"], "revoked", "{record}");
    // A task enqueued after it runs, so the worker was live and consuming all along.
    let later = env.enqueue("spy", &[]);
    assert_eq!(env.outcome(&later)["state"], "success");
    let spawned = env.read("spawned.txt");
    assert!(!spawned.contains(&id), "the revoked task ran: {spawned}");
    assert!(spawned.contains(&later));
}

#[test]
fn a_worker_started_after_the_revoke_skips_the_task() {
    let env = Env::with_manifest(SPY);
    let id = env.enqueue("spy", &["--countdown", "1"]);
    env.stem(&["revoke", &id]).success();
    let _worker = env.worker(&[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "revoked", "{record}");
    assert!(
        !env.read("spawned.txt").contains(&id),
        "the revoked task ran"
    );
}
