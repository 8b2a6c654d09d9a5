//! Issue 16: `stem worker` as PID 1 of its own PID namespace (a container without an init).
//! Orphaned grandchildren — left by a task that exits, and by one killed at its hard limit while
//! ignoring TERM — are re-parented to the worker, which must reap them: no `<defunct>` entry may
//! stay under it. Needs `unshare -p -f --mount-proc` (root); the test skips, saying why, when
//! this machine cannot make a PID namespace.

use std::process::{Command, Stdio};
use std::time::Duration;
use stem_e2e::{procs, wait_for, Env};

const AS_PID_1: &[&str] = &["unshare", "-p", "-f", "--kill-child", "--mount-proc"];

/// Why this machine cannot run a process as PID 1 of a new namespace, if it cannot.
fn cannot_unshare() -> Option<String> {
    let out = Command::new(AS_PID_1[0])
        .args(&AS_PID_1[1..])
        .args(["sh", "-c", "echo $$"])
        .stdin(Stdio::null())
        .output();
    match out {
        Err(e) => Some(format!("`unshare` cannot run: {e}")),
        Ok(o) if !o.status.success() => Some(format!(
            "`unshare -p -f --mount-proc` failed (root is needed): {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(o) if String::from_utf8_lossy(&o.stdout).trim() != "1" => {
            Some("the unshared shell was not PID 1".into())
        }
        Ok(_) => None,
    }
}

/// The pid of `pid` inside its innermost PID namespace (the last `NSpid` entry).
fn pid_in_namespace(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("NSpid:"))?;
    line.split_whitespace().last()?.parse().ok()
}

#[test]
fn as_pid_1_the_worker_reaps_every_orphan_it_inherits() {
    if let Some(why) = cannot_unshare() {
        eprintln!("SKIPPED as_pid_1_the_worker_reaps_every_orphan_it_inherits: {why}");
        return;
    }
    let env = Env::with_manifest(
        "[tasks.leaves_orphans]\n\
         exec = [\"sh\", \"-c\", \"sleep 1000 & sh -c 'sleep 1000' & echo started\"]\n\
         max_retries = 0\n\n\
         [tasks.stubborn]\n\
         exec = [\"sh\", \"-c\", \"sh -c 'trap \\\"\\\" TERM; sleep 1000' & trap '' TERM; sleep 1000\"]\n\
         time_limit = \"2s\"\nmax_retries = 0\n",
    );
    let mut worker = env.worker_via(AS_PID_1, &env.manifest(), &[], &[]);
    let stem = stem_e2e::wait_for_value(Duration::from_secs(20), || {
        procs::children(worker.pid()).first().copied()
    })
    .expect("unshare started stem");
    assert_eq!(
        pid_in_namespace(stem),
        Some(1),
        "stem is not PID 1 in its namespace"
    );

    let orphans = env.enqueue("leaves_orphans", &[]);
    let stubborn = env.enqueue("stubborn", &[]);
    let record = env.outcome(&orphans);
    assert_eq!(record["state"], "success", "{record}");
    let record = env.outcome(&stubborn);
    assert_eq!(record["error"]["type"], "TimeLimitExceeded", "{record}");

    let clean = wait_for(Duration::from_secs(20), || {
        procs::zombie_children(stem).is_empty() && procs::children(stem).is_empty()
    });
    let left: Vec<String> = procs::children(stem)
        .into_iter()
        .map(|p| format!("{p} {:?} {}", procs::state(p), procs::cmdline(p)))
        .collect();
    assert!(
        clean,
        "processes left under the worker (PID 1): {left:?}\n{}",
        env.worker_logs()
    );
    worker.assert_alive();
    // Still serving after reaping: a third task runs.
    let again = env.enqueue("leaves_orphans", &[]);
    assert_eq!(env.outcome(&again)["state"], "success");
}
