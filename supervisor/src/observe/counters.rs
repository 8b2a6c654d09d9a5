//! The counters sink: totals of outcomes since the worker started, for `stats`, heartbeats and
//! `stem observe metrics`.

use super::{Lifecycle, Sink};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub struct Counters {
    processed: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    revoked: AtomicU64,
    expired: AtomicU64,
    dead_lettered: AtomicU64,
    stale_commits: AtomicU64,
    leases_lost: AtomicU64,
    children_spawned: AtomicU64,
    children_recycled: AtomicU64,
    /// Milliseconds deliveries waited at flow-control gates, by limit.
    throttled_ms: Mutex<BTreeMap<String, u64>>,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// The totals as a JSON object (the keys of `stem worker stats`).
    pub fn snapshot(&self) -> Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "processed": get(&self.processed),
            "succeeded": get(&self.succeeded),
            "failed": get(&self.failed),
            "retried": get(&self.retried),
            "revoked": get(&self.revoked),
            "expired": get(&self.expired),
            "dead_lettered": get(&self.dead_lettered),
            "stale_commits": get(&self.stale_commits),
            "leases_lost": get(&self.leases_lost),
            "children_spawned": get(&self.children_spawned),
            "children_recycled": get(&self.children_recycled),
            "throttled_ms": self.throttled_ms.lock().map(|m| m.clone()).unwrap_or_default(),
        })
    }
}

impl Sink for Counters {
    fn observe(&self, _worker: &str, event: &Lifecycle) {
        match event {
            Lifecycle::Succeeded(_) => {
                bump(&self.processed);
                bump(&self.succeeded);
            }
            Lifecycle::Retried { .. } => {
                bump(&self.processed);
                bump(&self.retried);
            }
            Lifecycle::Failed { .. } => {
                bump(&self.processed);
                bump(&self.failed);
            }
            Lifecycle::Revoked { .. } => {
                bump(&self.processed);
                bump(&self.revoked);
            }
            Lifecycle::Expired(_) => {
                bump(&self.processed);
                bump(&self.expired);
            }
            Lifecycle::DeadLettered { .. } => bump(&self.dead_lettered),
            Lifecycle::StaleCommit { .. } => bump(&self.stale_commits),
            Lifecycle::LeaseLost { .. } => bump(&self.leases_lost),
            Lifecycle::ChildSpawned { .. } => bump(&self.children_spawned),
            Lifecycle::ChildRecycled { .. } => bump(&self.children_recycled),
            Lifecycle::Received(_)
            | Lifecycle::WorkflowStep { .. }
            | Lifecycle::WorkflowRun { .. }
            | Lifecycle::Ran(_)
            | Lifecycle::BrokerError { .. }
            | Lifecycle::BrokerRecovered
            | Lifecycle::Started(_)
            | Lifecycle::Progress(..)
            | Lifecycle::GivenBack(_) => {}
            Lifecycle::Throttled { limit, ms } => {
                if let Ok(mut m) = self.throttled_ms.lock() {
                    // Limits are named in the manifest (no key values): the map stays small.
                    *m.entry(limit.clone()).or_default() += ms;
                }
            }
        }
    }
}
