//! Issue 3 on a real Redis, the delivery rules: delayed tasks run once and not before their
//! countdown with two workers; higher priorities run first; `stem result --wait` and
//! `stem enqueue --wait` return the outcome; dead letters list and replay.
//! Runs when `STEM_TEST_REDIS_URL` is set; says it skips otherwise.

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use stem_e2e::{service_url, unique_namespace, wait_for, wait_for_value, Env, PATIENCE};

const REDIS: &str = "STEM_TEST_REDIS_URL";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// `note` writes `ID START_MS` to `ran.txt`; `check` succeeds once a file `ok` exists.
const MANIFEST: &str = r#"[tasks.note]
exec = ["sh", "-c", "echo $STEM_TASK_ID $(date +%s%3N) >> ran.txt"]
max_retries = 0

[tasks.check]
exec = ["sh", "-c", "test -f ok || { echo 'no ok file' >&2; exit 4; }; echo fixed"]
max_retries = 0
"#;

/// The start times (ms) noted for each id.
fn starts(env: &Env) -> BTreeMap<String, Vec<i64>> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for line in env.read("ran.txt").lines() {
        if let Some((id, at)) = line.split_once(' ') {
            out.entry(id.to_string())
                .or_default()
                .push(at.trim().parse().unwrap_or(0));
        }
    }
    out
}

fn redis_env(test: &str) -> Option<Env> {
    let url = service_url(REDIS, test)?;
    Some(Env::with_broker(MANIFEST, &url, &unique_namespace()))
}

#[test]
fn redis_delayed_tasks_run_once_after_their_countdown_with_two_workers() {
    let Some(env) =
        redis_env("redis_delayed_tasks_run_once_after_their_countdown_with_two_workers")
    else {
        return;
    };
    let _a = env.worker(&["--worker-id", "a", "--concurrency", "2"]);
    let _b = env.worker(&["--worker-id", "b", "--concurrency", "2"]);
    let mut published = BTreeMap::new();
    for _ in 0..6 {
        let before = now_ms();
        let id = env.enqueue("note", &["--countdown", "1"]);
        published.insert(id, before);
    }
    for id in published.keys() {
        let record = env.outcome(id);
        assert_eq!(record["state"], "success", "{record}");
    }
    // A second run would come from a second move out of the delayed set: give it a moment.
    std::thread::sleep(Duration::from_millis(500));
    let ran = starts(&env);
    for (id, before) in &published {
        let at = ran
            .get(id)
            .unwrap_or_else(|| panic!("{id} never noted: {ran:?}"));
        assert_eq!(at.len(), 1, "{id} ran {} times", at.len());
        assert!(
            at[0] >= before + 1000,
            "{id} started {} ms after its enqueue, before its 1 s countdown",
            at[0] - before
        );
    }
}

#[test]
fn redis_higher_priority_tasks_run_first() {
    let Some(env) = redis_env("redis_higher_priority_tasks_run_first") else {
        return;
    };
    // No worker yet: everything waits, low priority first in publish order.
    let low: Vec<String> = (0..4)
        .map(|i| format!("low-{i}"))
        .inspect(|id| {
            env.stem(&["enqueue", "note", "--id", id, "--priority", "0"])
                .success();
        })
        .collect();
    let high: Vec<String> = (0..4)
        .map(|i| format!("high-{i}"))
        .inspect(|id| {
            env.stem(&["enqueue", "note", "--id", id, "--priority", "9"])
                .success();
        })
        .collect();
    let _worker = env.worker(&["--concurrency", "1"]);
    let done = wait_for(PATIENCE, || env.read("ran.txt").lines().count() >= 8);
    assert!(done, "{}\n{}", env.read("ran.txt"), env.worker_logs());
    let order: Vec<String> = env
        .read("ran.txt")
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    let (first, last) = order.split_at(4);
    let mut first = first.to_vec();
    first.sort();
    let mut last = last.to_vec();
    last.sort();
    assert_eq!(first, high, "start order {order:?}");
    assert_eq!(last, low, "start order {order:?}");
}

#[test]
fn redis_result_wait_and_enqueue_wait_return_the_outcome() {
    let Some(env) = redis_env("redis_result_wait_and_enqueue_wait_return_the_outcome") else {
        return;
    };
    // `result --wait` started before any worker exists blocks until the task finishes.
    let id = env.enqueue("note", &[]);
    let waiter = env
        .command(env.path())
        .args(["result", &id, "--wait", "--json", "--timeout", "90"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stem result --wait");
    std::thread::sleep(Duration::from_millis(300));
    let _worker = env.worker(&["--concurrency", "2"]);
    let out = waiter.wait_with_output().expect("stem result --wait ends");
    assert!(out.status.success(), "{out:?}");
    let record: Value = serde_json::from_slice(&out.stdout).expect("a JSON record");
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["id"], id.as_str(), "{record}");

    let out = env
        .stem(&["enqueue", "note", "--wait", "--json", "--timeout", "90"])
        .success();
    let record = out.json();
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["name"], "note", "{record}");

    // A failing task: --wait prints its record and exits 1.
    let out = env.stem(&["enqueue", "check", "--wait", "--json", "--timeout", "90"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.json()["state"], "failure", "{out:?}");
}

fn dead_letter(env: &Env, id: &str) -> Option<Value> {
    let list = env
        .stem(&["dlq", "list", "--queue", "default", "--json"])
        .success()
        .json();
    list.as_array()?.iter().find(|l| l["id"] == id).cloned()
}

#[test]
fn redis_dead_letters_are_listed_and_replayed() {
    let Some(env) = redis_env("redis_dead_letters_are_listed_and_replayed") else {
        return;
    };
    let _worker = env.worker(&["--concurrency", "2"]);
    let id = env.enqueue("check", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "failure", "{record}");
    let letter = wait_for_value(PATIENCE, || dead_letter(&env, &id)).expect("no dead letter");
    assert!(
        letter["reason"]
            .as_str()
            .is_some_and(|r| r.contains("max_retries")),
        "{letter}"
    );
    let shown = env.stem(&["dlq", "show", "--id", &id, "--queue", "default", "--json"]);
    assert!(
        shown.ok() && shown.stdout.contains("no ok file"),
        "{shown:?}"
    );

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
        "still listed after replay"
    );
}
