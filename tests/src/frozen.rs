//! The frozen-worker scenario, the same on every store: worker `a` (2 s lease, one slot) starts
//! a task and is SIGSTOPped (the supervisor only: its child, in its own process group, runs on
//! and finishes); worker `b` takes the task over once a's lease lapses and finishes it; then `a`
//! is let go (SIGCONT) and tries to commit its own, now stale, outcome.
//!
//! Each worker runs the task from its own subfolder (`a/`, `b/`), noting the id in `ran.txt`
//! there when it starts and in `done.txt` when its child is done; a's copy runs 5 s (time to
//! see it start and freeze `a`), b's 1 s.

use crate::chaos::subfolder;
use crate::outcomes::{stale_commit_lines, tail, terminal};
use crate::{wait_for, Env, Worker, PATIENCE};
use nix::sys::signal::Signal;
use std::time::Duration;

/// The task's name in the manifest.
pub const TASK: &str = "slow";

/// A manifest whose `slow` task notes its id, sleeps `sleep` seconds, notes it again and exits
/// with `exit`; one retry, 100 ms after a failure.
pub fn manifest(sleep: &str, exit: u8) -> String {
    format!(
        "[tasks.{TASK}]\nexec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> ran.txt; sleep {sleep}; \
         echo $STEM_TASK_ID >> done.txt; exit {exit}\"]\nmax_retries = 1\ntime_limit = \"60s\"\n\
         retry = {{ backoff = \"fixed\", base = \"100ms\", jitter = false }}\n"
    )
}

/// The workers and the task of one run of the scenario; `a` has been let go and has settled
/// its outcome (as far as it will) when `run` returns.
pub struct Frozen {
    pub a: Worker,
    pub b: Worker,
    pub id: String,
}

fn worker_args(id: &str) -> [&str; 8] {
    [
        "--worker-id",
        id,
        "--concurrency",
        "1",
        "--prefetch",
        "0",
        "--visibility-timeout",
        "2s",
    ]
}

/// Runs the scenario with a task exiting `exit` (0: success; else a failure, retried once).
pub fn run(env: &Env, exit: u8) -> Frozen {
    let a_manifest = subfolder(env, "a", &manifest("5", exit));
    let b_manifest = subfolder(env, "b", &manifest("1", exit));
    let a = env.worker_on(&a_manifest, &worker_args("a"), &[]);
    let id = env.enqueue(TASK, &[]);

    // a runs it; its `started` record (written 100 ms in) is awaited for a moment, so what is
    // left of a's run is its outcome.
    let started = wait_for(PATIENCE, || env.read("a/ran.txt").contains(&id));
    assert!(started, "a never started {id}\n{}", env.worker_logs());
    let mut last = serde_json::Value::Null;
    wait_for(Duration::from_secs(1), || {
        last = env.record(&id);
        last["state"] == "started" && last["worker"] == "a"
    });
    a.signal(Signal::SIGSTOP);

    let b = env.worker_on(&b_manifest, &worker_args("b"), &[]);
    let taken_over = wait_for(PATIENCE, || {
        last = env.record(&id);
        terminal(&last) && last["worker"] == "b"
    });
    assert!(
        taken_over,
        "b did not take {id} over from the frozen a: {last}\n{}",
        env.worker_logs()
    );
    // a's child is done too (a reaps it once it runs again), so a has an outcome to commit.
    let a_done = wait_for(PATIENCE, || env.read("a/done.txt").contains(&id));
    assert!(a_done, "a's child never finished\n{}", env.worker_logs());
    a.signal(Signal::SIGCONT);

    // a settles: its commit is refused (`stale commit`) or, without fencing, lands on b's record.
    let settled = wait_for(PATIENCE, || {
        !stale_commit_lines(&a.log(), &id, "a", "b").is_empty() || env.record(&id)["worker"] == "a"
    });
    assert!(
        settled,
        "a neither logged a stale commit of {id} nor wrote its record; record {}\n{}",
        env.record(&id),
        env.worker_logs()
    );
    Frozen { a, b, id }
}

/// What `a` logged about the task after it was let go, for failure messages.
pub fn a_log(f: &Frozen) -> String {
    let log = f.a.log();
    let about: Vec<&str> = log.lines().filter(|l| l.contains(&f.id)).collect();
    format!(
        "a's lines about {}:\n{}\na's log (tail):\n{}",
        f.id,
        about.join("\n"),
        tail(&log, 15)
    )
}
