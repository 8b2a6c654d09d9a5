//! Issue 4: time limits and process hygiene — a child ignoring the soft signal is SIGKILLed at
//! the hard limit, `sleep 1000 &` in an exec task leaves nothing behind, 1,000 tasks leave no
//! zombie, a Python task returns a partial result at its soft limit, and 10 MB of output on
//! stdout and stderr neither deadlocks nor is kept whole.

use std::time::Duration;
use stem_e2e::{fake_runtime, procs, repo_root, wait_for, Env};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");

#[test]
fn a_child_ignoring_the_soft_signal_is_killed_at_the_hard_limit() {
    let env = Env::with_manifest(&format!(
        "{}\n[tasks.ignore_signals]\nruntime = \"fake\"\nsoft_time_limit = \"1s\"\ntime_limit = \"3s\"\nmax_retries = 0\n",
        fake_runtime("fake", FAKE, "process")
    ));
    let _worker = env.worker(&[]);
    let id = env.enqueue("ignore_signals", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["error"]["type"], "TimeLimitExceeded", "{record}");
    let gone = wait_for(Duration::from_secs(10), || {
        procs::matching("stem-fake-task", env.path()).is_empty()
    });
    assert!(gone, "the child outlived its hard limit");
}

#[test]
fn an_exec_task_backgrounding_sleep_leaves_no_process() {
    let env = Env::with_manifest(
        "[tasks.bg]\nexec = [\"sh\", \"-c\", \"sleep 1000 & echo started\"]\nmax_retries = 0\n",
    );
    let _worker = env.worker(&[]);
    let id = env.enqueue("bg", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], "started", "{record}");
    let gone = wait_for(Duration::from_secs(10), || {
        procs::matching("sleep 1000", env.path()).is_empty()
    });
    assert!(
        gone,
        "`sleep 1000 &` survived its task: {:?}",
        procs::matching("sleep 1000", env.path())
    );
}

#[test]
fn no_zombies_after_1000_tasks() {
    let env = Env::with_manifest("[tasks.noop]\nexec = [\"true\"]\nmax_retries = 0\n");
    env.stem(&["enqueue", "noop", "--repeat", "1000"]).success();
    let mut worker = env.worker(&["--concurrency", "4"]);
    let processed = || {
        let out = env.stem(&["worker", "stats", "--json", "--timeout", "2s"]);
        if !out.ok() {
            return 0;
        }
        let stats = out.json();
        stats
            .as_object()
            .and_then(|m| m.values().next())
            .map_or(0, |s| s["succeeded"].as_u64().unwrap_or(0))
    };
    let done = wait_for(Duration::from_secs(600), || processed() >= 1000);
    assert!(done, "only {} of 1000 succeeded", processed());
    worker.assert_alive();
    let pid = worker.pid();
    let clean = wait_for(Duration::from_secs(10), || {
        procs::zombie_children(pid).is_empty()
    });
    assert!(
        clean,
        "zombie children of the worker: {:?}",
        procs::zombie_children(pid)
    );
    let left = wait_for(Duration::from_secs(10), || procs::children(pid).is_empty());
    assert!(
        left,
        "children still running after the queue drained: {:?}",
        procs::children(pid)
    );
}

#[test]
fn a_python_task_catching_the_soft_limit_returns_a_partial_result() {
    let sdk = repo_root().join("sdk-python");
    let env = Env::with_manifest(&format!(
        "[runtimes.python]\ncommand = [\"python3\", \"tasks.py\"]\nenv = {{ PYTHONPATH = {:?} }}\n\n\
         [tasks.partial]\nruntime = \"python\"\nsoft_time_limit = \"1s\"\ntime_limit = \"30s\"\nmax_retries = 0\n",
        sdk.display().to_string()
    ));
    env.write(
        "tasks.py",
        r#"import time
from stem_sdk import SoftTimeLimitExceeded, run, task


@task("partial")
def partial():
    done = 0
    try:
        while True:
            time.sleep(0.05)
            done += 1
    except SoftTimeLimitExceeded:
        return {"partial": True, "done": done}


if __name__ == "__main__":
    run()
"#,
    );
    let _worker = env.worker(&[]);
    let id = env.enqueue("partial", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"]["partial"], true, "{record}");
}

#[test]
fn ten_megabytes_of_output_neither_deadlock_nor_are_kept_whole() {
    let env = Env::with_manifest(&format!(
        "{}\n[defaults]\nmax_retries = 0\ntime_limit = \"60s\"\n\n[tasks.huge_stderr]\nruntime = \"fake\"\n\n\
         [tasks.huge_stdout]\nruntime = \"fake\"\ntime_limit = \"5s\"\n\n\
         [tasks.loud]\nexec = [\"sh\", \"-c\", \"head -c 10000000 /dev/zero | tr '\\\\0' o; head -c 10000000 /dev/zero | tr '\\\\0' e >&2\"]\n\n\
         [tasks.loud_fail]\nexec = [\"sh\", \"-c\", \"head -c 10000000 /dev/zero | tr '\\\\0' e >&2; echo last words >&2; exit 4\"]\n",
        fake_runtime("fake", FAKE, "process")
    ));
    let _worker = env.worker(&["--concurrency", "4"]);
    let ids: Vec<String> = ["huge_stderr", "huge_stdout", "loud", "loud_fail"]
        .iter()
        .map(|t| env.enqueue(t, &[]))
        .collect();

    // A protocol child writing 10 MB to stderr still answers.
    let r = env.outcome(&ids[0]);
    assert_eq!(r["state"], "success", "{r}");
    assert_eq!(r["result"], "done");

    // A protocol child writing 10 MB to stdout without a newline: the supervisor drains it (the
    // child reaches its stderr marker), then the hard limit ends it.
    let r = env.outcome(&ids[1]);
    assert_eq!(r["error"]["type"], "TimeLimitExceeded", "{r}");
    assert!(
        r.to_string().contains("wrote 10 MB to stdout"),
        "the child blocked writing: {r}"
    );

    // An exec task writing 10 MB to each: its result is cut at the cap, and says so.
    let r = env.outcome(&ids[2]);
    assert_eq!(r["state"], "success", "{r}");
    let text = r["result"].as_str().unwrap_or_default();
    assert!(
        text.len() < 2 * 1024 * 1024,
        "kept {} bytes of stdout",
        text.len()
    );
    assert!(
        text.contains("cut at"),
        "{}",
        &text[text.len().saturating_sub(200)..]
    );

    // A failing one: the kept stderr tail is small (its content is checked by
    // `exec_failure_carries_its_stderr_tail`).
    let r = env.outcome(&ids[3]);
    assert_eq!(r["state"], "failure", "{r}");
    let tb = r["error"]["traceback"].as_str().unwrap_or_default();
    assert!(tb.len() <= 64 * 1024, "kept {} bytes of stderr", tb.len());
}

#[test]

fn exec_failure_carries_its_stderr_tail() {
    let env = Env::with_manifest(
        "[tasks.oops]\nexec = [\"sh\", \"-c\", \"echo last words >&2; exit 4\"]\nmax_retries = 0\n",
    );
    let _worker = env.worker(&["--concurrency", "4"]);
    let ids: Vec<String> = (0..20).map(|_| env.enqueue("oops", &[])).collect();
    for id in &ids {
        let r = env.outcome(id);
        assert_eq!(r["state"], "failure", "{r}");
        let tb = r["error"]["traceback"].as_str().unwrap_or_default();
        assert!(tb.contains("last words"), "the stderr tail was lost: {r}");
    }
}
