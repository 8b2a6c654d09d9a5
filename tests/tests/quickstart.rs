//! Issue 2: the quickstart manifest (`examples/quickstart/`) run by a real worker — a Python
//! `add`, a shell `hello`, a raising task with its traceback, and a sleeper killed at its hard
//! limit together with its `sleep 613` grandchild.

use std::time::Duration;
use stem_e2e::{procs, repo_root, Env};

/// A copy of the quickstart folder (manifest and tasks.py, verbatim) in a fresh world.
fn quickstart() -> Env {
    let example = repo_root().join("examples/quickstart");
    let env = Env::new();
    for name in ["stem.toml", "tasks.py"] {
        std::fs::copy(example.join(name), env.file(name)).expect("copy the quickstart");
    }
    env
}

#[test]
fn quickstart_outcomes() {
    let env = quickstart();
    let sdk = repo_root().join("sdk-python");
    let _worker = env.worker_with_env(
        &["--concurrency", "4"],
        &[("PYTHONPATH", sdk.to_str().unwrap())],
    );

    let add = env.stem(&[
        "enqueue",
        "add",
        "--args",
        "[2, 3]",
        "--wait",
        "--json",
        "--timeout",
        "60",
    ]);
    let add = add.success().json();
    assert_eq!(add["state"], "success", "{add}");
    assert_eq!(add["result"], 5, "{add}");

    let hello = env.stem(&["enqueue", "hello", "--wait", "--json", "--timeout", "60"]);
    let hello = hello.success().json();
    let id = hello["id"].as_str().unwrap();
    assert_eq!(hello["result"], format!("hello {id}"), "{hello}");

    let fail = env.enqueue("fail", &["--kwargs", r#"{"item": "sprocket"}"#]);
    let fail = env.outcome(&fail);
    assert_eq!(fail["state"], "failure", "{fail}");
    assert_eq!(fail["error"]["type"], "InventoryError", "{fail}");
    assert_eq!(
        fail["error"]["message"], "no sprocket left in stock",
        "{fail}"
    );
    let tb = fail["error"]["traceback"].as_str().unwrap_or_default();
    assert!(tb.contains("Traceback (most recent call last)"), "{fail}");
    assert!(tb.contains("raise InventoryError"), "{fail}");
}

#[test]
fn quickstart_sleeper_is_killed_with_its_group() {
    let env = quickstart();
    let sdk = repo_root().join("sdk-python");
    let _worker = env.worker_with_env(&[], &[("PYTHONPATH", sdk.to_str().unwrap())]);
    let id = env.enqueue("sleepy", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["error"]["type"], "TimeLimitExceeded", "{record}");
    // The kill is SIGKILL to the group: nothing of it may survive, the grandchild included.
    let gone = stem_e2e::wait_for(Duration::from_secs(10), || {
        procs::matching("sleep 613", env.path()).is_empty()
            && procs::matching("tasks.py", env.path()).is_empty()
    });
    assert!(
        gone,
        "a process of the sleepy task's group survived: {:?} {:?}",
        procs::matching("sleep 613", env.path()),
        procs::matching("tasks.py", env.path())
    );
}
