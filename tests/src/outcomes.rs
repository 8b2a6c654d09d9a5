//! Reading what became of tasks, the same way on every store: dead letters, task events, a
//! worker's counters, a worker log's `stale commit` lines, and the verdict that records, dead
//! letters and queues agree (every task has one terminal record; a failure ⇔ a dead letter;
//! nothing is left ready, delayed or leased).

use crate::{wait_for, Env, PATIENCE};
use serde_json::Value;
use std::collections::BTreeMap;

/// Every dead letter of `queue` (`stem dlq list --json`).
pub fn dead_letters(env: &Env, queue: &str) -> Vec<Value> {
    let list = env
        .stem(&[
            "dlq", "list", "--queue", queue, "--limit", "100000", "--json",
        ])
        .success()
        .json();
    list.as_array().cloned().unwrap_or_default()
}

/// The task events `stem events --json` prints, oldest first: one JSON object per line, or
/// one JSON array.
pub fn events(env: &Env) -> Vec<Value> {
    let out = env.stem(&["events", "--json", "--limit", "1000"]).success();
    let text = out.stdout.trim();
    if text.starts_with('[') {
        return out.json().as_array().cloned().unwrap_or_default();
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The events of `kind` about task `id`.
pub fn events_of(env: &Env, kind: &str, id: &str) -> Vec<Value> {
    events(env)
        .into_iter()
        .filter(|e| e["kind"] == kind && e["task_id"] == id)
        .collect()
}

/// `stem worker stats` of the worker `worker`, None when it does not answer.
pub fn stats(env: &Env, worker: &str) -> Option<Value> {
    let out = env.stem(&[
        "worker",
        "stats",
        "--worker",
        worker,
        "--timeout",
        "5s",
        "--json",
    ]);
    if !out.ok() {
        return None;
    }
    out.json().get(worker).cloned()
}

/// The WARN lines of `log` reporting a stale commit of task `id` by `worker` while `owner`
/// held its lease (`worker=a owner=b`, quoted or not).
pub fn stale_commit_lines(log: &str, id: &str, worker: &str, owner: &str) -> Vec<String> {
    log.lines()
        .map(|l| l.replace('"', ""))
        .filter(|l| l.contains("WARN") && l.contains("stale commit") && l.contains(id))
        .filter(|l| {
            l.contains(&format!("worker={worker}")) && l.contains(&format!("owner={owner}"))
        })
        .collect()
}

/// The last `n` lines of `log`, for failure messages.
pub fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Whether a record is in a terminal state.
pub fn terminal(record: &Value) -> bool {
    matches!(
        record["state"].as_str(),
        Some("success" | "failure" | "revoked")
    )
}

/// Waits until `queue` holds nothing ready, delayed or leased and each of `ids` has a terminal
/// record; returns the records (panics, with what is missing, after `PATIENCE`).
pub fn wait_settled(env: &Env, ids: &[String], queue: &str) -> BTreeMap<String, Value> {
    let mut records = BTreeMap::new();
    let settled = wait_for(PATIENCE, || {
        if !env.queue_drained(queue) {
            return false;
        }
        for id in ids {
            if !records.get(id).is_some_and(terminal) {
                records.insert(id.clone(), env.record(id));
            }
        }
        records.values().all(terminal)
    });
    let open: Vec<&Value> = records.values().filter(|r| !terminal(r)).collect();
    assert!(
        settled,
        "not settled within {PATIENCE:?}: queue {}, unfinished records {open:?}\n{}",
        env.queue_counts(queue),
        env.worker_logs()
    );
    records
}

/// The verdict once `ids` settled: every one has one terminal record; a failure record has
/// exactly one dead letter and a success none; the queue holds no dead letter of any other
/// task and nothing ready, delayed or leased.
pub fn assert_consistent(env: &Env, ids: &[String], queue: &str) -> BTreeMap<String, Value> {
    let records = wait_settled(env, ids, queue);
    let letters = dead_letters(env, queue);
    let mut lettered: BTreeMap<String, usize> = BTreeMap::new();
    for l in &letters {
        let id = l["id"].as_str().unwrap_or_default().to_string();
        *lettered.entry(id).or_default() += 1;
    }
    for (id, record) in &records {
        let n = lettered.get(id).copied().unwrap_or(0);
        let want = usize::from(record["state"] == "failure");
        assert_eq!(
            n,
            want,
            "task {id}: {n} dead letter(s) for the record {record}\n{}",
            env.worker_logs()
        );
    }
    let strays: Vec<&String> = lettered.keys().filter(|id| !ids.contains(id)).collect();
    assert!(
        strays.is_empty(),
        "dead letters of unknown tasks: {strays:?}"
    );
    let counts = env.queue_counts(queue);
    assert_eq!(
        counts["dead"].as_u64().unwrap_or(0),
        letters.len() as u64,
        "queue counts disagree with the dead letters: {counts}"
    );
    records
}
