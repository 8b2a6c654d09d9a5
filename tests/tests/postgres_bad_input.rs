//! Issue 6 on a real Postgres, bad input and the schema: a task whose manifest entry was removed
//! and a malformed row written straight into the namespace's `tasks` table both end in the dead
//! letters with a clear reason while the worker keeps running; `stem migrate` twice applies the
//! schema once and then says it is up to date.
//! Runs when `STEM_TEST_POSTGRES_URL` is set; says it skips otherwise.

use serde_json::Value;
use std::process::Command;
use stem_e2e::{service_url, unique_namespace, wait_for_value, Env, PATIENCE};

const POSTGRES: &str = "STEM_TEST_POSTGRES_URL";

const FULL: &str = r#"[tasks.ok]
exec = ["sh", "-c", "echo fine"]
max_retries = 0

[tasks.gone]
exec = ["sh", "-c", "echo should not run >> gone.txt"]
max_retries = 0
"#;

/// The same manifest after `gone` was removed.
const WITHOUT_GONE: &str = r#"[tasks.ok]
exec = ["sh", "-c", "echo fine"]
max_retries = 0
"#;

fn dead_letter(env: &Env, id: &str) -> Option<Value> {
    let list = env
        .stem(&["dlq", "list", "--queue", "default", "--json"])
        .success()
        .json();
    list.as_array()?.iter().find(|l| l["id"] == id).cloned()
}

#[test]
fn postgres_a_removed_task_and_a_malformed_row_are_dead_lettered_and_the_worker_goes_on() {
    let test =
        "postgres_a_removed_task_and_a_malformed_row_are_dead_lettered_and_the_worker_goes_on";
    let Some(url) = service_url(POSTGRES, test) else {
        return;
    };
    let ns = unique_namespace();
    let env = Env::with_broker(FULL, &url, &ns);
    let gone = env.enqueue("gone", &[]);

    std::fs::create_dir_all(env.file("w")).expect("a folder for the worker");
    env.write("w/stem.toml", WITHOUT_GONE);
    let mut worker = env.worker_on(&env.file("w/stem.toml"), &["--concurrency", "2"], &[]);

    let letter = wait_for_value(PATIENCE, || dead_letter(&env, &gone))
        .unwrap_or_else(|| panic!("no dead letter for {gone}\n{}", env.worker_logs()));
    let reason = letter["reason"].as_str().unwrap_or_default();
    let message = letter["error"]["message"].as_str().unwrap_or_default();
    assert!(reason.contains("unknown task"), "{letter}");
    assert!(
        message.contains("\"gone\"") && message.contains("not in the manifest"),
        "{letter}"
    );
    assert!(!env.file("w/gone.txt").exists(), "the removed task ran");
    let shown = env
        .stem(&["dlq", "show", "--id", &gone, "--json"])
        .success();
    assert_eq!(shown.json()["reason"], letter["reason"], "{shown:?}");
    let record = env.outcome(&gone);
    assert_eq!(record["state"], "failure", "{record}");

    // Garbage written by some other program, straight into the table.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let insert = format!(
        "INSERT INTO {ns}.tasks (task_id, queue, priority, eta, visible_at, payload, created_at) \
         VALUES ('garbage-row', 'default', 0, {now}, {now}, '{{\"this is\": not json', {now})"
    );
    let out = Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", &url, "-c", &insert])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "psql failed: {out:?}");

    // A malformed row has no envelope to take an id from: find its letter by the raw text.
    let raw = "{\"this is\": not json";
    let letter = wait_for_value(PATIENCE, || {
        let list = env
            .stem(&["dlq", "list", "--queue", "default", "--json"])
            .success()
            .json();
        list.as_array()?.iter().find(|l| l["raw"] == raw).cloned()
    })
    .unwrap_or_else(|| {
        panic!(
            "no dead letter for the malformed row\n{}",
            env.worker_logs()
        )
    });
    let reason = letter["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("malformed task envelope"), "{letter}");

    // The worker is still there and still works.
    let id = env.enqueue("ok", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    worker.assert_alive();
    assert!(
        env.queue_drained("default"),
        "{}",
        env.queue_counts("default")
    );
}

#[test]
fn postgres_migrate_twice_applies_once_then_is_up_to_date() {
    let test = "postgres_migrate_twice_applies_once_then_is_up_to_date";
    let Some(url) = service_url(POSTGRES, test) else {
        return;
    };
    let env = Env::with_broker(WITHOUT_GONE, &url, &unique_namespace());
    let first = env.stem(&["migrate"]).success();
    assert!(first.stdout.contains("applied"), "{first:?}");
    let second = env.stem(&["migrate"]).success();
    assert!(
        second.stdout.contains("up to date") && !second.stdout.contains("applied"),
        "{second:?}"
    );
    // The schema works: a task round-trips.
    let _worker = env.worker(&["--concurrency", "1"]);
    let id = env.enqueue("ok", &[]);
    assert_eq!(env.outcome(&id)["state"], "success");
}
