//! `stem worker shutdown --mode`: `hard` kills the running task and gives it back to the queue
//! unrecorded (the next worker runs it); `soft` acts on the running task's soft limit at once
//! (here `soft_limit_action = "terminate"`: SIGTERM to its group), records it as
//! SoftTimeLimitExceeded and exits once it ended; `warm` lets it finish. Every worker exits.

use std::time::Duration;
use stem_e2e::{wait_for, Env, PATIENCE};

const MANIFEST: &str = "[tasks.long]\nexec = [\"sh\", \"-c\", \"[ -f ran ] && exit 0; touch ran; sleep 30\"]\nsoft_limit_action = \"terminate\"\n\n[tasks.nap]\nexec = [\"sh\", \"-c\", \"sleep 1; echo rested\"]\n";

fn shutdown(env: &Env, mode: &str) {
    env.stem(&["worker", "shutdown", "--mode", mode, "--timeout", "5s"])
        .success();
}

#[test]
fn hard_kills_and_requeues_the_running_task() {
    let env = Env::with_manifest(MANIFEST);
    let mut worker = env.worker(&[]);
    let id = env.enqueue("long", &[]);
    env.wait_state(&id, "started");
    shutdown(&env, "hard");
    assert!(worker.wait_exit(PATIENCE).is_some(), "{}", worker.log());
    let ready = wait_for(PATIENCE, || env.queue_counts("default")["ready"] == 1);
    assert!(
        ready,
        "the killed task is back in the queue: {}",
        env.queue_counts("default")
    );
    let _next = env.worker(&[]);
    assert_eq!(
        env.outcome(&id)["state"],
        "success",
        "{}",
        env.worker_logs()
    );
}

#[test]
fn soft_ends_the_running_task_by_its_soft_limit_then_exits() {
    let env = Env::with_manifest(MANIFEST);
    let mut worker = env.worker(&[]);
    let id = env.enqueue("long", &[]);
    env.wait_state(&id, "started");
    shutdown(&env, "soft");
    assert!(
        worker.wait_exit(Duration::from_secs(20)).is_some(),
        "{}",
        worker.log()
    );
    let record = env.record(&id);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["error"]["type"], "SoftTimeLimitExceeded", "{record}");
}

#[test]
fn warm_lets_the_running_task_finish() {
    let env = Env::with_manifest(MANIFEST);
    let mut worker = env.worker(&[]);
    let id = env.enqueue("nap", &[]);
    env.wait_state(&id, "started");
    shutdown(&env, "warm");
    assert!(worker.wait_exit(PATIENCE).is_some(), "{}", worker.log());
    assert_eq!(env.record(&id)["state"], "success");
    let bad = env.stem(&["worker", "shutdown", "--mode", "cold"]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
}
