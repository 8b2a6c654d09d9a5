//! A world's tasks and queues as the `stem` commands report them: enqueue one task, read its
//! record, wait with a deadline for its outcome or a state, and read a queue's counts.

use crate::{wait_for, Env, PATIENCE};
use serde_json::Value;
use std::time::Duration;

impl Env {
    /// `stem enqueue TASK ARGS... --json`: the new task's id.
    pub fn enqueue(&self, task: &str, args: &[&str]) -> String {
        let mut all = vec!["enqueue", task, "--json"];
        all.extend_from_slice(args);
        let out = self.stem(&all).success();
        out.json()["id"]
            .as_str()
            .unwrap_or_else(|| panic!("enqueue printed no id: {out:?}"))
            .to_string()
    }

    /// The task's status as `stem result --json` prints it (`unknown`, exit 1, for an id no
    /// store knows yet, e.g. a canvas member not published).
    pub fn record(&self, id: &str) -> Value {
        let out = self.stem(&["result", id, "--json"]);
        let json = out.json();
        assert!(
            out.ok() || json["state"] == "unknown",
            "stem failed: {out:?}"
        );
        json
    }

    /// Waits until the task's record is terminal; panics after `PATIENCE`.
    pub fn outcome(&self, id: &str) -> Value {
        self.outcome_within(id, PATIENCE)
    }

    pub fn outcome_within(&self, id: &str, within: Duration) -> Value {
        let mut last = Value::Null;
        let done = wait_for(within, || {
            last = self.record(id);
            matches!(
                last["state"].as_str(),
                Some("success" | "failure" | "revoked" | "expired")
            )
        });
        assert!(
            done,
            "task {id} did not finish within {within:?}: {last}\n{}",
            self.worker_logs()
        );
        last
    }

    /// Waits until the task's record is in `state`.
    pub fn wait_state(&self, id: &str, state: &str) -> Value {
        let mut last = Value::Null;
        let seen = wait_for(PATIENCE, || {
            last = self.record(id);
            last["state"] == state
        });
        assert!(
            seen,
            "task {id} never reached {state}: {last}\n{}",
            self.worker_logs()
        );
        last
    }

    /// `stem observe queues --json` counts of one queue (zeros when the broker has not seen it).
    pub fn queue_counts(&self, queue: &str) -> Value {
        let all = self
            .stem(&["observe", "queues", "--queues", queue, "--json"])
            .success()
            .json();
        all[queue].clone()
    }

    /// Whether the queue holds nothing ready, delayed or leased.
    pub fn queue_drained(&self, queue: &str) -> bool {
        let c = self.queue_counts(queue);
        ["ready", "delayed", "leased"]
            .iter()
            .all(|k| c[k].as_u64().unwrap_or(0) == 0)
    }
}
