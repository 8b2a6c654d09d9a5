//! Worker shutdown: SIGTERM is warm (the running task finishes and is recorded, nothing new is
//! taken, exit 0); a second signal is cold (the child is killed and its task released for
//! another worker); a SIGKILLed worker loses nothing (a restarted worker completes every task
//! once the leases lapse).

use nix::sys::signal::Signal;
use std::time::Duration;
use stem_e2e::{procs, wait_for, Env, PATIENCE};

#[test]
fn warm_shutdown_finishes_the_running_task_then_exits_0() {
    let env = Env::with_manifest(
        "[tasks.slow]\nexec = [\"sh\", \"-c\", \"touch running; sleep 2; echo finished\"]\n",
    );
    let mut worker = env.worker(&["--concurrency", "1"]);
    let id = env.enqueue("slow", &[]);
    env.wait_state(&id, "started");
    assert!(wait_for(PATIENCE, || env.file("running").exists()));
    worker.signal(Signal::SIGTERM);
    let status = worker.wait_exit(PATIENCE);
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "log:\n{}",
        worker.log()
    );
    let record = env.record(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], "finished", "{record}");
}

#[test]
fn cold_shutdown_kills_the_child_and_releases_its_task() {
    let env = Env::with_manifest(
        "[tasks.twice]\nexec = [\"sh\", \"-c\", \"if [ -f first ]; then echo second-run; \
         else touch first; sleep 600; fi\"]\nmax_retries = 0\n",
    );
    let mut a = env.worker(&["--worker-id", "a"]);
    let id = env.enqueue("twice", &[]);
    assert!(
        wait_for(PATIENCE, || env.file("first").exists()),
        "the task never started"
    );
    a.signal(Signal::SIGTERM);
    assert!(
        wait_for(PATIENCE, || a.log().contains("warm shutdown")),
        "no warm shutdown:\n{}",
        a.log()
    );
    a.signal(Signal::SIGTERM);
    let status = a.wait_exit(PATIENCE);
    assert!(
        status.is_some(),
        "a cold shutdown did not end the worker:\n{}",
        a.log()
    );
    let gone = wait_for(Duration::from_secs(10), || {
        procs::matching("sleep 600", env.path()).is_empty()
    });
    assert!(gone, "the killed task's process survived the cold shutdown");
    let given_back = env.record(&id);
    assert_eq!(
        given_back["state"], "pending",
        "a task given back at a cold shutdown is pending again, not started or failed: \
         {given_back}"
    );

    let _b = env.worker(&["--worker-id", "b"]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], "second-run", "{record}");
    assert_eq!(record["worker"], "b", "{record}");
}

#[test]
fn a_sigkilled_worker_loses_no_task() {
    let env = Env::with_manifest(
        "[tasks.step]\nexec = [\"sh\", \"-c\", \"sleep 1; echo ok\"]\nmax_retries = 0\n",
    );
    let ids: Vec<String> = (0..8).map(|_| env.enqueue("step", &[])).collect();
    let mut a = env.worker(&[
        "--worker-id",
        "a",
        "--concurrency",
        "4",
        "--visibility-timeout",
        "2s",
    ]);
    let started = wait_for(PATIENCE, || {
        ids.iter().any(|id| env.record(id)["state"] == "started")
    });
    assert!(started, "no task started");
    a.kill();
    let in_flight: Vec<&String> = ids
        .iter()
        .filter(|id| {
            let r = env.record(id);
            r["state"] == "started" && r["worker"] == "a"
        })
        .collect();
    assert!(
        !in_flight.is_empty(),
        "the killed worker had no task in flight"
    );
    let _b = env.worker(&[
        "--worker-id",
        "b",
        "--concurrency",
        "4",
        "--visibility-timeout",
        "2s",
    ]);
    for id in &ids {
        let record = env.outcome(id);
        assert_eq!(record["state"], "success", "{record}");
        assert_eq!(record["result"], "ok", "{record}");
    }
    for id in in_flight {
        assert_eq!(env.record(id)["worker"], "b", "{id} was not taken over");
    }
}
