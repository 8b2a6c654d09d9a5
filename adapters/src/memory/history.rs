//! `StatsHistory` in memory: one map of minutes to counters.

use super::MemoryStore;
use crate::history::HISTORY_KEEP_MS;
use crate::{MinuteCounts, Result, StatsHistory};
use async_trait::async_trait;
use std::collections::BTreeMap;
use stem_protocol::now_ms;

#[async_trait]
impl StatsHistory for MemoryStore {
    async fn add_minute(&self, minute: i64, counts: &BTreeMap<String, u64>) -> Result<()> {
        let mut state = self.lock();
        let slot = state.history.entry(minute).or_default();
        for (k, v) in counts.iter().filter(|(_, v)| **v > 0) {
            *slot.entry(k.clone()).or_default() += v;
        }
        let oldest = now_ms() - HISTORY_KEEP_MS;
        state.history.retain(|m, _| *m >= oldest);
        Ok(())
    }

    async fn minutes(&self, since: i64) -> Result<Vec<MinuteCounts>> {
        Ok(self
            .lock()
            .history
            .range(since..)
            .filter(|(_, c)| !c.is_empty())
            .map(|(m, c)| MinuteCounts {
                minute: *m,
                counts: c.clone(),
            })
            .collect())
    }
}
