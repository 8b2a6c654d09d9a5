//! Issue 16: the soft time limit warns, it does not kill. An `exec` program outlives its soft
//! limit (its default soft signal, SIGURG, is ignored by default) and succeeds; with
//! `soft_limit_action = "terminate"` it gets SIGTERM to its group and the record says
//! `SoftTimeLimitExceeded`, not an exit status; an SDK task's own grandchild survives the soft
//! signal, which goes to the task's process only.

use stem_e2e::{repo_root, Env};

#[test]
fn an_exec_task_outlives_its_soft_limit() {
    let env = Env::with_manifest(
        "[tasks.slow]\nexec = [\"sh\", \"-c\", \"sleep 3; echo done\"]\n\
         soft_time_limit = \"1s\"\ntime_limit = \"30s\"\nmax_retries = 0\n",
    );
    let _worker = env.worker(&[]);
    let id = env.enqueue("slow", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], "done", "{record}");
}

#[test]
fn a_terminating_soft_limit_is_reported_as_the_soft_limit() {
    let env = Env::with_manifest(
        "[tasks.stop_me]\nexec = [\"sh\", \"-c\", \"sleep 30; echo done\"]\n\
         soft_time_limit = \"1s\"\ntime_limit = \"60s\"\nsoft_limit_action = \"terminate\"\nmax_retries = 0\n",
    );
    let _worker = env.worker(&[]);
    let id = env.enqueue("stop_me", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["error"]["type"], "SoftTimeLimitExceeded", "{record}");
    let message = record["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("soft_time_limit of 1s"), "{record}");
}

#[test]
fn an_sdk_tasks_grandchild_survives_the_soft_signal() {
    let sdk = repo_root().join("sdk-python");
    let env = Env::with_manifest(&format!(
        "[runtimes.python]\ncommand = [\"python3\", \"tasks.py\"]\nenv = {{ PYTHONPATH = {:?} }}\n\n\
         [tasks.helper]\nruntime = \"python\"\nsoft_time_limit = \"1s\"\ntime_limit = \"30s\"\nmax_retries = 0\n",
        sdk.display().to_string()
    ));
    env.write(
        "tasks.py",
        r#"import subprocess, time
from stem_sdk import SoftTimeLimitExceeded, run, task


@task("helper")
def helper():
    child = subprocess.Popen(["sleep", "1000"])
    try:
        while True:
            time.sleep(0.05)
    except SoftTimeLimitExceeded:
        time.sleep(0.3)
        alive = child.poll() is None
        child.kill()
        child.wait()
        return {"grandchild_alive": alive}


if __name__ == "__main__":
    run()
"#,
    );
    let _worker = env.worker(&[]);
    let id = env.enqueue("helper", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"]["grandchild_alive"], true, "{record}");
}
