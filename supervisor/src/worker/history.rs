//! The worker's share of the stats history: every few seconds (and at shutdown) the outcome
//! counters' growth since the last flush is added to the current minute in the store
//! (`StatsHistory`), where the dashboard charts the fleet's throughput and failures.

use crate::observe::counters::Counters;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stem_adapters::{minute_of, StatsHistory};

/// How often deltas are flushed.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// The counters charted.
const CHARTED: &[&str] = &[
    "processed",
    "succeeded",
    "failed",
    "retried",
    "revoked",
    "dead_lettered",
];

/// Flushes growth of the counters; remembers what was flushed.
pub struct HistoryFlusher {
    counters: Arc<Counters>,
    store: Arc<dyn StatsHistory>,
    flushed: Mutex<BTreeMap<String, u64>>,
}

impl HistoryFlusher {
    pub fn new(counters: Arc<Counters>, store: Arc<dyn StatsHistory>) -> Self {
        HistoryFlusher {
            counters,
            store,
            flushed: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds what grew since the last flush to this minute; a failed add is kept for the next.
    pub async fn flush(&self) {
        let now = self.counters.snapshot();
        let totals: BTreeMap<String, u64> = CHARTED
            .iter()
            .map(|k| (k.to_string(), now[*k].as_u64().unwrap_or(0)))
            .collect();
        let delta: BTreeMap<String, u64> = {
            let flushed = self.flushed.lock().expect("history lock");
            totals
                .iter()
                .map(|(k, v)| (k.clone(), v.saturating_sub(*flushed.get(k).unwrap_or(&0))))
                .filter(|(_, v)| *v > 0)
                .collect()
        };
        if delta.is_empty() {
            return;
        }
        let minute = minute_of(stem_protocol::now_ms());
        match self.store.add_minute(minute, &delta).await {
            Ok(()) => *self.flushed.lock().expect("history lock") = totals,
            Err(e) => tracing::debug!("cannot add to the stats history ({e})"),
        }
    }

    pub async fn flush_loop(self: Arc<Self>) {
        loop {
            tokio::time::sleep(FLUSH_EVERY).await;
            self.flush().await;
        }
    }
}
