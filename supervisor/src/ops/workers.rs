//! Live workers: who sent a heartbeat, how long ago, whether that is too long (lapsed), and
//! their counters summed into one set of metrics.

use super::OpsResult;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use stem_adapters::{Adapters, Heartbeat};
use stem_protocol::now_ms;

/// Heartbeat fields that are not counters, left out of the sums.
const NOT_COUNTERS: &[&str] = &["pid", "rss_mb", "uptime_s"];

/// A worker's last heartbeat and its age.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerStatus {
    #[serde(flatten)]
    pub heartbeat: Heartbeat,
    pub age_ms: i64,
    /// The heartbeat is older than the lapse allowed.
    pub lapsed: bool,
}

/// The counters of all workers summed, and how many workers there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metrics {
    #[serde(flatten)]
    pub counters: BTreeMap<String, u64>,
    pub workers: usize,
}

/// True when a heartbeat at `at` is older, at `now`, than `lapse`.
pub fn is_lapsed(at: i64, now: i64, lapse: Duration) -> bool {
    now - at > i64::try_from(lapse.as_millis()).unwrap_or(i64::MAX)
}

/// Every worker seen recently, by id; those silent for longer than `lapse` are flagged.
pub async fn list(adapters: &Adapters, lapse: Duration) -> OpsResult<Vec<WorkerStatus>> {
    let now = now_ms();
    let mut workers = adapters.control.workers().await?;
    workers.sort_by(|a, b| a.worker.cmp(&b.worker));
    Ok(workers
        .into_iter()
        .map(|heartbeat| WorkerStatus {
            age_ms: now - heartbeat.at,
            lapsed: is_lapsed(heartbeat.at, now, lapse),
            heartbeat,
        })
        .collect())
}

/// The numeric counters of every worker's last heartbeat, summed.
pub async fn metrics(adapters: &Adapters) -> OpsResult<Metrics> {
    let workers = adapters.control.workers().await?;
    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    for stats in workers.iter().filter_map(|w| w.stats.as_object()) {
        for (k, v) in stats {
            if NOT_COUNTERS.contains(&k.as_str()) || k == "workers" {
                continue;
            }
            if let Some(n) = v.as_u64() {
                let total = counters.entry(k.clone()).or_default();
                *total = total.saturating_add(n);
            }
        }
    }
    Ok(Metrics {
        counters,
        workers: workers.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::{beat, memory};
    use serde_json::json;

    #[tokio::test]
    async fn counters_are_summed_and_old_heartbeats_flagged() {
        let adapters = memory("workers").await;
        beat(&adapters, "a", 0, json!({"processed": 2, "pid": 10})).await;
        beat(&adapters, "b", 60_000, json!({"processed": 3, "failed": 1})).await;
        let got = list(&adapters, Duration::from_secs(10))
            .await
            .expect("list");
        let flags: Vec<(&str, bool)> = got
            .iter()
            .map(|w| (w.heartbeat.worker.as_str(), w.lapsed))
            .collect();
        assert_eq!(flags, [("a", false), ("b", true)]);
        let m = metrics(&adapters).await.expect("metrics");
        assert_eq!(
            serde_json::to_value(m).expect("json"),
            json!({"processed": 5, "failed": 1, "workers": 2})
        );
    }
}
