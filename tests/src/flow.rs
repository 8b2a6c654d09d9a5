//! Flow control read off finished tasks, for the rate, concurrency and shared-limit tests: the
//! success records of a task (polled with a deadline), their start times, the busiest second of
//! starts, and the most runs that overlapped in time.

use crate::{wait_for, Env};
use serde_json::Value;
use std::time::Duration;

/// The success records of `task` once there are at least `want`; panics with the worker logs
/// when `within` passes first.
pub fn succeeded(env: &Env, task: &str, want: usize, within: Duration) -> Vec<Value> {
    let mut got = Vec::new();
    let done = wait_for(within, || {
        let out = env.stem(&[
            "tasks", "list", "--task", task, "--state", "success", "--limit", "10000", "--json",
        ]);
        got = out.json().as_array().cloned().unwrap_or_default();
        got.len() >= want
    });
    assert!(
        done,
        "{} of {want} {task} tasks succeeded\n{}",
        got.len(),
        env.worker_logs()
    );
    got
}

/// The start times of `records`, earliest first.
pub fn starts(records: &[Value]) -> Vec<i64> {
    let mut at: Vec<i64> = records
        .iter()
        .map(|r| r["started_at"].as_i64().unwrap())
        .collect();
    at.sort();
    at
}

/// The most starts of `at` in the one second from any one of them.
pub fn busiest_second(at: &[i64]) -> usize {
    at.iter()
        .map(|t| at.iter().filter(|u| **u >= *t && **u < t + 1000).count())
        .max()
        .unwrap()
}

/// The most runs of `records` that overlapped in time.
pub fn max_overlap<'a>(records: impl IntoIterator<Item = &'a Value>) -> usize {
    let mut edges: Vec<(i64, i32)> = Vec::new();
    for r in records {
        edges.push((r["started_at"].as_i64().unwrap(), 1));
        edges.push((r["finished_at"].as_i64().unwrap(), -1));
    }
    edges.sort(); // an end before a start at the same millisecond
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    most as usize
}
