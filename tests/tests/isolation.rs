//! Issue 4: isolation modes — a warm pool survives a child killed mid-task (that task fails and
//! is retried, the pool refills, later tasks run), a Python fork server runs each task in its
//! own process, and a Node task runs under `sdk-node` with SIGUSR2 as its soft signal.

use serde_json::Value;
use std::collections::HashSet;
use stem_e2e::{fake_runtime, procs, repo_root, wait_for_value, Env, PATIENCE};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");

/// The pid `stem worker inspect --json` shows for running task `id`.
fn running_pid(env: &Env, id: &str) -> Option<u32> {
    let out = env.stem(&["worker", "inspect", "--json", "--timeout", "2s"]);
    if !out.ok() {
        return None;
    }
    let replies = out.json();
    let workers = replies.as_object()?;
    workers.values().find_map(|w| {
        w["running"]
            .as_array()?
            .iter()
            .find(|r| r["id"] == id)
            .and_then(|r| r["pid"].as_u64())
            .map(|p| p as u32)
    })
}

#[test]
fn a_pool_survives_a_child_killed_mid_task() {
    let env = Env::with_manifest(&format!(
        "{}pool_size = 2\n\n[defaults]\ntime_limit = \"60s\"\nmax_retries = 2\n\
         retry = {{ backoff = \"fixed\", base = \"100ms\", jitter = false }}\n\n\
         [tasks.hang_first]\nruntime = \"fake\"\n\n[tasks.echo]\nruntime = \"fake\"\n",
        fake_runtime("fake", FAKE, "pool")
    ));
    let mut worker = env.worker(&["--concurrency", "2"]);
    let id = env.enqueue("hang_first", &[]);
    let pid = wait_for_value(PATIENCE, || running_pid(&env, &id))
        .expect("inspect never showed the running task's pid");
    assert!(
        procs::cmdline(pid).contains("stem-fake-task"),
        "pid {pid} is not a pool child"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the pool child");

    // That task failed with the crash, and was retried per its policy (attempt 2 succeeds).
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["attempt"], 2, "{record}");
    assert_eq!(record["errors"][0]["type"], "ChildExited", "{record}");

    // The pool refills and keeps serving.
    let ids: Vec<String> = (0..6)
        .map(|i| env.enqueue("echo", &["--args", &format!("[{i}]")]))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let r = env.outcome(id);
        assert_eq!(r["result"], serde_json::json!([i]), "{r}");
    }
    worker.assert_alive();
    let stats = env.stem(&["worker", "stats", "--json"]).success().json();
    let pools = &stats.as_object().unwrap().values().next().unwrap()["pools"];
    let fake = pools
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["runtime"] == "fake")
        .unwrap();
    assert!(fake["replaced"].as_u64().unwrap_or(0) >= 1, "{pools}");
    assert!(!procs::alive(pid), "the killed child {pid} is still there");
}

#[test]
fn a_fork_server_runs_each_task_in_its_own_process() {
    let sdk = repo_root().join("sdk-python");
    let env = Env::with_manifest(&format!(
        "[runtimes.python]\ncommand = [\"python3\", \"tasks.py\"]\nisolation = \"forkserver\"\n\
         env = {{ PYTHONPATH = {:?} }}\n\n[tasks.whoami]\nruntime = \"python\"\ntime_limit = \"60s\"\n",
        sdk.display().to_string()
    ));
    env.write(
        "tasks.py",
        "import os\nfrom stem_sdk import run, task\n\n\n@task(\"whoami\")\ndef whoami():\n    \
         return {\"pid\": os.getpid(), \"ppid\": os.getppid()}\n\n\nif __name__ == \"__main__\":\n    run()\n",
    );
    let _worker = env.worker(&["--concurrency", "1"]);
    let ids: Vec<String> = (0..5).map(|_| env.enqueue("whoami", &[])).collect();
    let results: Vec<Value> = ids.iter().map(|id| env.outcome(id)).collect();
    let pids: HashSet<u64> = results
        .iter()
        .map(|r| r["result"]["pid"].as_u64().unwrap())
        .collect();
    let servers: HashSet<u64> = results
        .iter()
        .map(|r| r["result"]["ppid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 5, "tasks shared a process: {results:?}");
    assert_eq!(
        servers.len(),
        1,
        "one warm server forks them all: {results:?}"
    );
    assert!(!servers.iter().any(|s| pids.contains(s)), "{results:?}");
}

#[test]
fn a_node_task_runs_with_sigusr2_as_its_soft_signal() {
    let sdk = repo_root().join("sdk-node");
    let env = Env::with_manifest(
        "[runtimes.node]\ncommand = [\"node\", \"tasks.js\"]\nsoft_signal = \"SIGUSR2\"\n\n\
         [defaults]\ntime_limit = \"60s\"\nmax_retries = 0\n\n[tasks.add]\nruntime = \"node\"\n\n\
         [tasks.patient]\nruntime = \"node\"\nsoft_time_limit = \"1s\"\n",
    );
    env.write(
        "tasks.js",
        &format!(
            "const {{ task, run }} = require({:?});\n\
             task('add', (ctx, a, b) => a + b);\n\
             task('patient', (ctx) => new Promise((resolve) => {{\n  \
               ctx.signal.addEventListener('abort', () => resolve({{ aborted: true }}));\n}}));\n\
             run();\n",
            sdk.display().to_string()
        ),
    );
    let _worker = env.worker(&[]);
    let add = env.enqueue("add", &["--args", "[2, 3]"]);
    let patient = env.enqueue("patient", &[]);
    let r = env.outcome(&add);
    assert_eq!(r["state"], "success", "{r}");
    assert_eq!(r["result"], 5, "{r}");
    let r = env.outcome(&patient);
    assert_eq!(r["state"], "success", "{r}");
    assert_eq!(r["result"]["aborted"], true, "{r}");
}
