//! Issue 2: bad input gets a clear error and the worker keeps running — a manifest with a typo,
//! an unknown task enqueued without a manifest at hand, a child printing garbage, a child that
//! exits without answering; and the shape of `enqueue --json`.

use std::time::Duration;
use stem_e2e::{fake_runtime, Env};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");

fn fake_env() -> Env {
    let manifest = format!(
        "{}\n[defaults]\ntime_limit = \"60s\"\nmax_retries = 0\n\n[tasks.echo]\nruntime = \"fake\"\n\n\
         [tasks.garbage]\nruntime = \"fake\"\n\n[tasks.exit_early]\nruntime = \"fake\"\n",
        fake_runtime("fake", FAKE, "process")
    );
    Env::with_manifest(&manifest)
}

#[test]
fn manifest_typo_names_file_line_and_key() {
    let env = Env::with_manifest(
        "[tasks.hello]\nexec = [\"true\"]\n\n[tasks.add]\nexec = [\"true\"]\ntime_limt = \"5s\"\n",
    );
    let mut worker = env.worker(&[]);
    let status = worker.wait_exit(Duration::from_secs(30));
    let log = worker.log();
    assert_eq!(status.and_then(|s| s.code()), Some(2), "log:\n{log}");
    let manifest = env.manifest().display().to_string();
    assert!(
        log.contains(&format!("{manifest}:6")),
        "no file:line in:\n{log}"
    );
    assert!(log.contains("time_limt"), "the key is not named in:\n{log}");
}

#[test]
fn unknown_task_fails_and_the_worker_keeps_running() {
    let env = fake_env();
    let mut worker = env.worker(&[]);
    // No stem.toml here, so enqueue cannot refuse the name: the worker must.
    let elsewhere = tempfile::tempdir().unwrap();
    let broker = env.broker_url();
    let out = env.stem_in(
        elsewhere.path(),
        &[
            "--broker",
            &broker,
            "enqueue",
            "no_such_task",
            "--wait",
            "--json",
            "--timeout",
            "60",
        ],
    );
    assert!(
        !out.ok(),
        "enqueue --wait of an unknown task exited 0: {out:?}"
    );
    let record = out.json();
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["error"]["type"], "UnknownTask", "{record}");
    let message = record["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("no_such_task"), "{record}");
    assert!(record.get("id").is_some(), "{record}");

    worker.assert_alive();
    let next = env.stem(&[
        "enqueue",
        "echo",
        "--args",
        "[1]",
        "--wait",
        "--json",
        "--timeout",
        "60",
    ]);
    let next = next.success().json();
    assert_eq!(next["result"], serde_json::json!([1]), "{next}");
}

#[test]
fn garbage_from_a_child_is_a_protocol_error_quoting_it() {
    let env = fake_env();
    let mut worker = env.worker(&[]);
    let out = env.stem(&["enqueue", "garbage", "--wait", "--json", "--timeout", "60"]);
    assert!(!out.ok(), "{out:?}");
    let record = out.json();
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["error"]["type"], "ProtocolError", "{record}");
    let message = record["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("this is not json"), "{record}");

    worker.assert_alive();
    let id = env.enqueue("echo", &["--args", "[\"after\"]"]);
    assert_eq!(env.outcome(&id)["state"], "success");
}

#[test]
fn a_child_exiting_without_answer_is_child_exited() {
    let env = fake_env();
    let mut worker = env.worker(&[]);
    let id = env.enqueue("exit_early", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["error"]["type"], "ChildExited", "{record}");
    let message = record["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("status 3"), "{record}");

    worker.assert_alive();
    let id = env.enqueue("echo", &[]);
    assert_eq!(env.outcome(&id)["state"], "success");
}

#[test]
fn enqueue_json_has_id_state_and_result_or_error() {
    let env = fake_env();
    let queued = env
        .stem(&["enqueue", "echo", "--args", "[7]", "--json"])
        .success()
        .json();
    assert!(queued["id"].is_string(), "{queued}");
    assert!(queued["state"].is_string(), "{queued}");

    let _worker = env.worker(&[]);
    let done = env.stem(&[
        "result",
        queued["id"].as_str().unwrap(),
        "--wait",
        "--json",
        "--timeout",
        "60",
    ]);
    let done = done.success().json();
    assert_eq!(done["id"], queued["id"]);
    assert_eq!(done["state"], "success");
    assert_eq!(done["result"], serde_json::json!([7]));

    let failed = env.stem(&[
        "enqueue",
        "exit_early",
        "--wait",
        "--json",
        "--timeout",
        "60",
    ]);
    assert_eq!(failed.code, Some(1), "{failed:?}");
    let failed = failed.json();
    assert!(
        failed["id"].is_string() && failed["state"] == "failure",
        "{failed}"
    );
    assert!(failed["error"]["type"].is_string(), "{failed}");
}
