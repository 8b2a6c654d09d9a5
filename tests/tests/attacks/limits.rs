//! A task cannot escape its hard limit, revoke `--terminate`, a shutdown or
//! its own end through processes that left its process group or session (`setsid`, double
//! forks, `subprocess.Popen(start_new_session=True)`), nor hold its slot through an inherited
//! stdout. The task is over when its main process is; then every process it started is
//! killed. Each scenario runs under cgroups (when the machine lets the worker make them) and
//! with `STEM_CGROUP=off`, the tracked process-tree fallback.

use nix::sys::signal::Signal;
use std::time::Duration;
use stem_e2e::{procs, repo_root, wait_for, Env, PATIENCE};

/// The worker's environment for each containment mechanism.
const CGROUP: &[(&str, &str)] = &[];
const TRACKED: &[(&str, &str)] = &[("STEM_CGROUP", "off")];

fn exec_env(script: &str, limit: &str) -> Env {
    Env::with_manifest(&format!(
        "[tasks.t]\nexec = [\"sh\", \"-c\", {script:?}]\ntime_limit = {limit:?}\nmax_retries = 0\n\n\
         [tasks.quick]\nexec = [\"echo\", \"quick\"]\nmax_retries = 0\n"
    ))
}

/// No process whose command line holds `needle` is left in the test's folder.
fn assert_no_survivor(env: &Env, needle: &str) {
    let gone = wait_for(Duration::from_secs(15), || {
        procs::matching(needle, env.path()).is_empty()
    });
    assert!(
        gone,
        "`{needle}` survived its task: {:?}\n{}",
        procs::matching(needle, env.path()),
        env.worker_logs()
    );
}

/// Milliseconds between the record's start and finish.
fn ran_ms(record: &serde_json::Value) -> i64 {
    record["finished_at"].as_i64().unwrap_or(i64::MAX) - record["started_at"].as_i64().unwrap_or(0)
}

fn timed_out(env: &Env, id: &str) {
    let record = env.outcome(id);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["error"]["type"], "TimeLimitExceeded", "{record}");
}

fn the_reproduction(vars: &[(&str, &str)]) {
    let env = exec_env("setsid sleep 1004 & sleep 0.5; echo spawned", "5s");
    let _worker = env.worker_with_env(&[], vars);
    let id = env.enqueue("t", &[]);
    let record = env.outcome(&id);
    // The task ends with its main process: what it printed is its result, the setsid grandchild
    // that still held its stdout is killed, and the slot is not held until the limit.
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], "spawned", "{record}");
    assert!(
        ran_ms(&record) < 5000,
        "ran past its main process: {record}"
    );
    assert_no_survivor(&env, "sleep 1004");
}

#[test]
fn the_reproduction_ends_with_its_main_process_and_kills_the_setsid_grandchild() {
    the_reproduction(CGROUP);
}

#[test]
fn the_reproduction_without_cgroups() {
    the_reproduction(TRACKED);
}

fn setsid_grandchild_at_the_hard_limit(vars: &[(&str, &str)]) {
    let env = exec_env("setsid sleep 1005 & sleep 1000", "3s");
    let _worker = env.worker_with_env(&[], vars);
    let id = env.enqueue("t", &[]);
    timed_out(&env, &id);
    assert_no_survivor(&env, "sleep 1005");
    assert_no_survivor(&env, "sleep 1000");
}

#[test]
fn a_setsid_grandchild_holding_stdout_is_killed_at_the_hard_limit() {
    setsid_grandchild_at_the_hard_limit(CGROUP);
}

#[test]
fn a_setsid_grandchild_is_killed_at_the_hard_limit_without_cgroups() {
    setsid_grandchild_at_the_hard_limit(TRACKED);
}

fn double_fork(vars: &[(&str, &str)]) {
    // The middle process exits at once: the grandchild is re-parented away from the task, in a
    // session of its own, its stdio pointing elsewhere.
    let env = exec_env(
        "(setsid sleep 1006 </dev/null >/dev/null 2>&1 &); sleep 1000",
        "3s",
    );
    let _worker = env.worker_with_env(&[], vars);
    let id = env.enqueue("t", &[]);
    assert!(
        wait_for(PATIENCE, || !procs::matching("sleep 1006", env.path())
            .is_empty()),
        "the grandchild never started"
    );
    timed_out(&env, &id);
    assert_no_survivor(&env, "sleep 1006");
}

#[test]
fn a_double_forked_setsid_grandchild_is_killed_at_the_hard_limit() {
    double_fork(CGROUP);
}

#[test]
fn a_double_forked_setsid_grandchild_is_killed_without_cgroups() {
    double_fork(TRACKED);
}

fn twenty_grandchildren(vars: &[(&str, &str)]) {
    let env = exec_env(
        "for i in $(seq 20); do setsid sleep 1007 & done; sleep 1000",
        "3s",
    );
    let _worker = env.worker_with_env(&["--concurrency", "1"], vars);
    let id = env.enqueue("t", &[]);
    let quick = env.enqueue("quick", &[]);
    timed_out(&env, &id);
    assert_no_survivor(&env, "sleep 1007");
    // The slot is free again: the next task runs.
    let record = env.outcome(&quick);
    assert_eq!(record["result"], "quick", "{record}");
}

#[test]
fn twenty_setsid_grandchildren_are_killed_at_the_hard_limit_and_free_the_slot() {
    twenty_grandchildren(CGROUP);
}

#[test]
fn twenty_setsid_grandchildren_are_killed_without_cgroups() {
    twenty_grandchildren(TRACKED);
}

fn main_exits_holding_stdout(vars: &[(&str, &str)]) {
    // No time limit at all: nothing but the main process's exit may end this task.
    let env = Env::with_manifest(
        "[tasks.t]\nexec = [\"sh\", \"-c\", \"echo early; setsid sleep 1008 &\"]\nmax_retries = 0\n",
    );
    let _worker = env.worker_with_env(&[], vars);
    let id = env.enqueue("t", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], "early", "{record}");
    assert_no_survivor(&env, "sleep 1008");
}

#[test]
fn a_task_ends_with_its_main_process_while_a_setsid_grandchild_holds_stdout() {
    main_exits_holding_stdout(CGROUP);
}

#[test]
fn a_task_ends_with_its_main_process_without_cgroups() {
    main_exits_holding_stdout(TRACKED);
}

#[test]
fn revoke_terminate_kills_a_setsid_grandchild() {
    let env = exec_env("setsid sleep 1009 & sleep 1000", "600s");
    let _worker = env.worker(&["--terminate-grace", "1s"]);
    let id = env.enqueue("t", &[]);
    env.wait_state(&id, "started");
    assert!(wait_for(PATIENCE, || {
        !procs::matching("sleep 1009", env.path()).is_empty()
    }));
    env.stem(&["revoke", &id, "--terminate"]).success();
    let record = env.outcome(&id);
    assert_eq!(record["state"], "revoked", "{record}");
    assert_no_survivor(&env, "sleep 1009");
    assert_no_survivor(&env, "sleep 1000");
}

#[test]
fn warm_shutdown_with_a_setsid_grandchild_running_does_not_hang() {
    let env = exec_env(
        "setsid sleep 1010 & touch running; sleep 1; echo done",
        "600s",
    );
    let mut worker = env.worker(&[]);
    let id = env.enqueue("t", &[]);
    assert!(wait_for(PATIENCE, || env.file("running").exists()));
    worker.signal(Signal::SIGTERM);
    let status = worker.wait_exit(PATIENCE);
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", worker.log());
    let record = env.record(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], "done", "{record}");
    assert_no_survivor(&env, "sleep 1010");
}

#[test]
fn cold_shutdown_with_a_setsid_grandchild_running_does_not_hang() {
    let env = exec_env("setsid sleep 1011 & touch running; sleep 1000", "600s");
    let mut worker = env.worker(&[]);
    env.enqueue("t", &[]);
    assert!(wait_for(PATIENCE, || env.file("running").exists()));
    worker.signal(Signal::SIGTERM);
    assert!(wait_for(PATIENCE, || worker
        .log()
        .contains("warm shutdown")));
    worker.signal(Signal::SIGTERM);
    let status = worker.wait_exit(PATIENCE);
    assert!(
        status.is_some(),
        "the cold shutdown hung:\n{}",
        worker.log()
    );
    assert_no_survivor(&env, "sleep 1011");
    assert_no_survivor(&env, "sleep 1000");
}

/// A Python runtime whose tasks start a `sleep` in a new session with `subprocess` (inheriting
/// the child's stdout, the protocol pipe): one runs past its hard limit, one succeeds at once.
fn python_grandchild(isolation: &str, vars: &[(&str, &str)]) {
    let sdk = repo_root().join("sdk-python");
    let env = Env::with_manifest(&format!(
        "[runtimes.py]\ncommand = [\"python3\", \"tasks.py\"]\nisolation = {isolation:?}\n\
         env = {{ PYTHONPATH = {:?} }}\n\n\
         [tasks.stuck]\nruntime = \"py\"\ntime_limit = \"3s\"\nmax_retries = 0\n\n\
         [tasks.leave]\nruntime = \"py\"\ntime_limit = \"600s\"\nmax_retries = 0\n",
        sdk.display().to_string()
    ));
    env.write(
        "tasks.py",
        "import subprocess, time\nfrom stem_sdk import run, task\n\n\n\
         @task(\"stuck\")\ndef stuck():\n    subprocess.Popen([\"sleep\", \"1012\"], start_new_session=True)\n    \
         time.sleep(1000)\n\n\n\
         @task(\"leave\")\ndef leave():\n    subprocess.Popen([\"sleep\", \"1013\"], start_new_session=True)\n    \
         return \"left\"\n\n\nif __name__ == \"__main__\":\n    run()\n",
    );
    let _worker = env.worker_with_env(&["--concurrency", "1"], vars);
    let stuck = env.enqueue("stuck", &[]);
    timed_out(&env, &stuck);
    assert_no_survivor(&env, "sleep 1012");
    let leave = env.enqueue("leave", &[]);
    let record = env.outcome(&leave);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], "left", "{record}");
    assert_no_survivor(&env, "sleep 1013");
    // A warm child is still fit to serve after its task's leftovers were killed.
    let again = env.enqueue("leave", &[]);
    assert_eq!(env.outcome(&again)["result"], "left");
    assert_no_survivor(&env, "sleep 1013");
}

#[test]
fn python_process_isolation_setsid_grandchild() {
    python_grandchild("process", CGROUP);
}

#[test]
fn python_pool_isolation_setsid_grandchild() {
    python_grandchild("pool", CGROUP);
}

#[test]
fn python_forkserver_setsid_grandchild() {
    python_grandchild("forkserver", CGROUP);
}

#[test]
fn python_pool_isolation_setsid_grandchild_without_cgroups() {
    python_grandchild("pool", TRACKED);
}

#[test]
fn python_forkserver_setsid_grandchild_without_cgroups() {
    python_grandchild("forkserver", TRACKED);
}
