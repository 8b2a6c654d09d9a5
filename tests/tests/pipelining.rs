//! Pipelining into warm children: a busy `pool` child holds the next task, written to its stdin
//! before the answer to the current one. The queued task runs on that child next, its time
//! limit counts from its own start, a crash ahead of it moves it to a fresh child (it is not
//! lost and not failed), and revoking it while it waits means it never runs.

use stem_e2e::pipeline::{self, pids_of, pool_stats, sleep_args};
use stem_e2e::{wait_for, Env, PATIENCE};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");

fn one_child(extra: &str) -> Env {
    pipeline::one_child(FAKE, false, extra)
}

#[test]
fn queued_tasks_run_on_the_busy_child_with_limits_from_their_own_start() {
    let env = one_child("");
    let marker = env.file("ran.txt");
    // Three tasks of 0.6 s each under a 1 s limit: the third waits 1.2 s behind the others, so
    // a limit counted from the moment it was queued would kill it.
    let ids: Vec<String> = (0..3)
        .map(|_| env.enqueue("sleep", &["--args", &sleep_args(0.6, &marker)]))
        .collect();
    let mut worker = env.worker(&["--concurrency", "1"]);
    let pids = pids_of(&env, &ids);
    assert!(
        pids.iter().all(|p| *p == pids[0]),
        "one child ran them all: {pids:?}"
    );
    let pool = pool_stats(&env);
    assert!(pool["pipelined"].as_u64().unwrap_or(0) >= 1, "{pool}");
    assert_eq!(pool["started"], 1, "{pool}");
    assert_eq!(env.read("ran.txt").lines().count(), 3);
    worker.assert_alive();
}

#[test]
fn a_task_queued_behind_a_crash_runs_once_on_a_fresh_child() {
    let env = one_child("");
    let crash = env.enqueue("exit_early", &[]);
    let next = env.enqueue("echo", &["--args", "[\"after\"]"]);
    let mut worker = env.worker(&["--concurrency", "1"]);
    let r = env.outcome(&crash);
    assert_eq!(r["state"], "failure", "{r}");
    assert_eq!(r["error"]["type"], "ChildExited", "{r}");
    let r = env.outcome(&next);
    assert_eq!(r["state"], "success", "{r}\n{}", env.worker_logs());
    assert_eq!(r["result"], serde_json::json!(["after"]), "{r}");
    assert_eq!(r["attempt"], 1, "it never ran before: {r}");
    assert!(r["errors"].as_array().is_none_or(|e| e.is_empty()), "{r}");
    worker.assert_alive();
}

#[test]
fn a_queued_task_revoked_with_terminate_never_runs_and_the_one_ahead_finishes() {
    let env = one_child("");
    let marker = env.file("ran.txt");
    let ahead = env.enqueue("sleep", &["--args", &sleep_args(0.8, &marker)]);
    let queued = env.enqueue("sleep", &["--args", &sleep_args(0.0, &marker)]);
    let mut worker = env.worker(&["--concurrency", "1"]);
    // Revoke the queued one as soon as the one ahead runs.
    assert!(
        wait_for(PATIENCE, || env.read("ran.txt").contains(&ahead)),
        "the first task never started\n{}",
        env.worker_logs()
    );
    env.stem(&["revoke", &queued, "--terminate"]).success();
    let r = env.outcome(&queued);
    assert_eq!(r["state"], "revoked", "{r}\n{}", env.worker_logs());
    let r = env.outcome(&ahead);
    assert_eq!(r["state"], "success", "{r}\n{}", env.worker_logs());
    let child = r["result"].as_u64().unwrap();
    // The revoked task was withdrawn before the child saw it: the child keeps serving.
    let after = env.enqueue("sleep", &["--args", &sleep_args(0.0, &marker)]);
    let r = env.outcome(&after);
    assert_eq!(r["state"], "success", "{r}");
    assert_eq!(
        r["result"].as_u64(),
        Some(child),
        "the same child serves on: {r}"
    );
    let ran = env.read("ran.txt");
    assert!(!ran.contains(&queued), "the revoked task ran: {ran}");
    assert_eq!(ran.lines().count(), 2, "{ran}");
    assert_eq!(pool_stats(&env)["started"], 1);
    worker.assert_alive();
}

#[test]
fn a_misspelt_measuring_knob_is_an_error_naming_it() {
    let env = one_child("");
    for (var, value) in [
        ("STEM_PIPELINE", "off"),
        ("STEM_RUNTIME_THREADS", "4"),
        ("STEM_PIPELINE_DEPTH", "64"),
    ] {
        let out = env
            .command(env.path())
            .env(var, value)
            .args(["worker", "--concurrency", "1", "--burst"])
            .output()
            .expect("run stem");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(var) && stderr.contains(value), "{stderr}");
    }
}
