//! Issue 16: runtimes are probed at start. A runtime that cannot start is reported before any
//! task runs (with its last stderr line), and tasks the manifest routes to a runtime that does
//! not serve them — or that it serves and the manifest does not name — are warned about.

use std::time::Duration;
use stem_e2e::{repo_root, wait_for, Env};

fn python_world(tasks_py: &str, tasks: &str) -> Env {
    let sdk = repo_root().join("sdk-python");
    let env = Env::with_manifest(&format!(
        "[runtimes.python]\ncommand = [\"python3\", \"tasks.py\"]\nenv = {{ PYTHONPATH = {:?} }}\n\n{tasks}",
        sdk.display().to_string()
    ));
    env.write("tasks.py", tasks_py);
    env
}

#[test]
fn a_broken_runtime_is_reported_at_start() {
    let env = python_world(
        "import no_such_module_for_stem\n",
        "[tasks.a]\nruntime = \"python\"\n",
    );
    let mut worker = env.worker(&[]);
    let reported = wait_for(Duration::from_secs(30), || {
        let log = worker.log();
        log.contains("runtime \"python\" cannot serve") && log.contains("ModuleNotFoundError")
    });
    assert!(reported, "{}", worker.log());
    worker.assert_alive();
}

#[test]
fn tasks_the_runtime_does_not_serve_are_warned_about_at_start() {
    let env = python_world(
        "from stem_sdk import run, task\n\n@task(\"a\")\ndef a():\n    return 1\n\n@task(\"extra\")\ndef extra():\n    return 2\n\nif __name__ == \"__main__\":\n    run()\n",
        "[tasks.a]\nruntime = \"python\"\n\n[tasks.b]\nruntime = \"python\"\n",
    );
    let worker = env.worker(&[]);
    let warned = wait_for(Duration::from_secs(30), || {
        let log = worker.log();
        log.contains("does not serve b that the manifest routes to it")
            && log.contains("serves extra that the manifest does not name")
    });
    assert!(warned, "{}", worker.log());
    let id = env.enqueue("a", &[]);
    assert_eq!(env.outcome(&id)["result"], 1);
}
