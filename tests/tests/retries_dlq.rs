//! Issue 5: retries and dead letters — a task failing twice then succeeding shows three
//! attempts; one that always fails lands in the DLQ after `max_retries` with its last traceback;
//! `dlq replay` refuses without `--yes` and no terminal, and with `--yes` runs it again.

use serde_json::Value;
use stem_e2e::{fake_runtime, repo_root, wait_for_value, Env, PATIENCE};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");

#[test]
fn a_task_failing_twice_then_succeeding_shows_three_attempts() {
    let env = Env::with_manifest(&format!(
        "{}\n[tasks.flaky]\nruntime = \"fake\"\ntime_limit = \"60s\"\nmax_retries = 3\n\
         retry = {{ backoff = \"fixed\", base = \"100ms\", jitter = false }}\n",
        fake_runtime("fake", FAKE, "process")
    ));
    let _worker = env.worker(&[]);
    let id = env.enqueue("flaky", &["--args", "[3]"]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["attempt"], 3, "{record}");
    assert_eq!(record["result"]["attempt"], 3, "{record}");
    let errors = record["errors"].as_array().expect("errors kept");
    assert_eq!(errors.len(), 2, "{record}");
    assert_eq!(errors[0]["message"], "attempt 1 fails", "{record}");
    assert_eq!(errors[1]["message"], "attempt 2 fails", "{record}");
}

/// The dead letter of `id` in the default queue, if listed.
fn dead_letter(env: &Env, id: &str) -> Option<Value> {
    let list = env
        .stem(&["dlq", "list", "--queue", "default", "--json"])
        .success()
        .json();
    list.as_array()?.iter().find(|l| l["id"] == id).cloned()
}

#[test]
fn an_always_failing_task_is_dead_lettered_then_replayed() {
    let sdk = repo_root().join("sdk-python");
    let env = Env::with_manifest(&format!(
        "[runtimes.python]\ncommand = [\"python3\", \"tasks.py\"]\nenv = {{ PYTHONPATH = {:?} }}\n\n\
         [tasks.fragile]\nruntime = \"python\"\ntime_limit = \"60s\"\nmax_retries = 2\n\
         retry = {{ backoff = \"fixed\", base = \"100ms\", jitter = false }}\n",
        sdk.display().to_string()
    ));
    env.write(
        "tasks.py",
        r#"import os
from stem_sdk import current, run, task


class StockError(Exception):
    pass


def check_stock():
    raise StockError("failing attempt %d" % current.attempt)


@task("fragile")
def fragile():
    if os.path.exists("ok"):
        return "fixed"
    check_stock()


if __name__ == "__main__":
    run()
"#,
    );
    let _worker = env.worker(&[]);
    let id = env.enqueue("fragile", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["attempt"], 3, "{record}");
    assert_eq!(
        record["errors"].as_array().map(Vec::len),
        Some(3),
        "{record}"
    );

    let letter = wait_for_value(PATIENCE, || dead_letter(&env, &id)).expect("no dead letter");
    let tb = letter["error"]["traceback"].as_str().unwrap_or_default();
    assert!(
        tb.contains("failing attempt 3"),
        "not the last traceback: {letter}"
    );
    assert!(
        letter["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("max_retries"),
        "{letter}"
    );

    // No --yes and no terminal (stdin is /dev/null): refused, nothing replayed.
    let refused = env.stem(&["dlq", "replay", "--queue", "default"]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{refused:?}");
    assert!(dead_letter(&env, &id).is_some(), "replayed without --yes");

    env.write("ok", "");
    let replay = env
        .stem(&["dlq", "replay", "--queue", "default", "--yes", "--json"])
        .success();
    assert_eq!(
        replay.json()["replayed"],
        serde_json::json!([id]),
        "{replay:?}"
    );
    let record = env.wait_state(&id, "success");
    assert_eq!(record["result"], "fixed", "{record}");
    assert!(
        dead_letter(&env, &id).is_none(),
        "still dead-lettered after a successful replay"
    );
}
