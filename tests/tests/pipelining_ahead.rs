//! Pipelining into a child that takes lines ahead (`hello.pipeline`): the lines of tasks queued
//! on a busy child are written at once, so it goes from task to task without waiting; each
//! task's limits still count from its own start, a crash ahead moves every queued task to a
//! fresh child at the same attempt, and a queued task revoked with terminate is withdrawn —
//! it never runs and the child serves on — or, when the child starts it anyway, the child is
//! killed and the tasks behind it run elsewhere.

use stem_e2e::pipeline::{one_child, pids_of, pool_stats, sleep_args};
use stem_e2e::{wait_for, Env, PATIENCE};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");
/// A fixed depth, so the lines go ahead whatever the run times.
const DEPTH: (&str, &str) = ("STEM_PIPELINE_DEPTH", "8");

fn ahead(extra: &str) -> Env {
    one_child(FAKE, true, extra)
}

#[test]
fn queued_lines_go_ahead_and_limits_count_from_each_tasks_own_start() {
    let env = ahead("[tasks.backlog]\nruntime = \"fake\"\n");
    let marker = env.file("ran.txt");
    // Six tasks of 0.3 s under a 1 s limit, queued behind one another on the one child: the last
    // starts 1.5 s after it was queued, so a limit counted from then would kill it.
    let slow: Vec<String> = (0..6)
        .map(|_| env.enqueue("sleep", &["--args", &sleep_args(0.3, &marker)]))
        .collect();
    let backlog: Vec<String> = (0..6).map(|_| env.enqueue("backlog", &[])).collect();
    let mut worker = env.worker_with_env(&["--concurrency", "1"], &[DEPTH]);
    let pids = pids_of(&env, &slow);
    assert!(pids.iter().all(|p| *p == pids[0]), "one child: {pids:?}");
    // Lines were waiting in the child when those tasks started.
    let most = backlog
        .iter()
        .map(|id| {
            let r = env.outcome(id);
            assert_eq!(r["state"], "success", "{r}");
            r["result"].as_u64().unwrap()
        })
        .max()
        .unwrap();
    assert!(most >= 1, "no line was ever written ahead");
    // In the order queued, one after the other.
    let ran: Vec<String> = env.read("ran.txt").lines().map(str::to_string).collect();
    assert_eq!(ran, slow, "the tasks started out of order");
    let pool = pool_stats(&env);
    assert_eq!(pool["started"], 1, "{pool}");
    assert!(pool["pipelined"].as_u64().unwrap_or(0) >= 5, "{pool}");
    worker.assert_alive();
}

#[test]
fn every_task_queued_behind_a_crash_runs_once_on_one_fresh_child_at_the_same_attempt() {
    let env = ahead("");
    let crash = env.enqueue("exit_early", &[]);
    let behind: Vec<String> = (0..4)
        .map(|i| env.enqueue("echo", &["--args", &format!("[{i}]")]))
        .collect();
    let mut worker = env.worker_with_env(&["--concurrency", "1"], &[DEPTH]);
    let r = env.outcome(&crash);
    assert_eq!(r["error"]["type"], "ChildExited", "{r}");
    for (i, id) in behind.iter().enumerate() {
        let r = env.outcome(id);
        assert_eq!(r["state"], "success", "{r}\n{}", env.worker_logs());
        assert_eq!(r["result"], serde_json::json!([i]), "{r}");
        assert_eq!(r["attempt"], 1, "it never ran before: {r}");
    }
    // The moved tasks wait for the replacement child; they do not each start one.
    let pool = pool_stats(&env);
    assert_eq!(pool["started"], 2, "{pool}");
    worker.assert_alive();
}

/// Runs `ahead_task` then a queued task revoked with terminate while `ahead_task` runs, then
/// one more behind it; returns (the revoked one's id, the marker's lines, the pool counters).
fn revoke_a_queued_task(env: &Env) -> (String, String, serde_json::Value) {
    let marker = env.file("ran.txt");
    let first = env.enqueue("sleep", &["--args", &sleep_args(0.8, &marker)]);
    let queued = env.enqueue("sleep", &["--args", &sleep_args(0.0, &marker)]);
    let behind = env.enqueue("sleep", &["--args", &sleep_args(0.0, &marker)]);
    let mut worker = env.worker_with_env(&["--concurrency", "1"], &[DEPTH]);
    assert!(
        wait_for(PATIENCE, || env.read("ran.txt").contains(&first)),
        "the first task never started\n{}",
        env.worker_logs()
    );
    env.stem(&["revoke", &queued, "--terminate"]).success();
    let r = env.outcome(&queued);
    assert_eq!(r["state"], "revoked", "{r}\n{}", env.worker_logs());
    for id in [&first, &behind] {
        let r = env.outcome(id);
        assert_eq!(r["state"], "success", "{r}\n{}", env.worker_logs());
    }
    worker.assert_alive();
    (queued, env.read("ran.txt"), pool_stats(env))
}

#[test]
fn a_queued_task_revoked_with_terminate_is_withdrawn_and_the_child_serves_on() {
    let env = ahead("");
    let (queued, ran, pool) = revoke_a_queued_task(&env);
    assert!(!ran.contains(&queued), "the revoked task ran: {ran}");
    assert_eq!(ran.lines().count(), 2, "{ran}");
    assert_eq!(pool["started"], 1, "the child was not replaced: {pool}");
    let logs = env.worker_logs();
    assert!(
        logs.contains("withdrew"),
        "the line was never written ahead:\n{logs}"
    );
}

#[test]
fn a_child_that_starts_a_withdrawn_task_is_killed_and_the_tasks_behind_run_elsewhere() {
    let env = Env::with_manifest(&ahead("").read("stem.toml").replace(
        "FAKE_PIPELINE = \"32\"",
        "FAKE_PIPELINE = \"32\", FAKE_IGNORE_WITHDRAW = \"1\"",
    ));
    let (_queued, _ran, pool) = revoke_a_queued_task(&env);
    assert_eq!(pool["started"], 2, "the child was replaced: {pool}");
    assert!(pool["replaced"].as_u64().unwrap_or(0) >= 1, "{pool}");
}

#[test]
fn a_child_that_says_a_running_task_was_withdrawn_fails_it_and_is_replaced() {
    let env = ahead("[tasks.lie_withdrawn]\nruntime = \"fake\"\n");
    let lie = env.enqueue("lie_withdrawn", &[]);
    let behind: Vec<String> = (0..3)
        .map(|i| env.enqueue("echo", &["--args", &format!("[{i}]")]))
        .collect();
    let mut worker = env.worker_with_env(&["--concurrency", "1"], &[DEPTH]);
    let r = env.outcome(&lie);
    assert_eq!(r["state"], "failure", "{r}");
    assert_eq!(r["error"]["type"], "ProtocolError", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("withdrawn"),
        "{r}"
    );
    for id in &behind {
        let r = env.outcome(id);
        assert_eq!(r["state"], "success", "{r}\n{}", env.worker_logs());
        assert_eq!(r["attempt"], 1, "{r}");
    }
    worker.assert_alive();
}
