//! The `StatsHistory` trait: the fleet's counters per minute, kept in the store so the
//! dashboard charts throughput and failures over time from any server, not from a browser tab.
//! Workers add their deltas to the minute they happened in (adds from many workers sum); minutes
//! older than [`HISTORY_KEEP_MS`] are dropped.

use crate::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long per-minute counters are kept.
pub const HISTORY_KEEP_MS: i64 = 24 * 3600 * 1000;

/// One minute's counters (`minute`: epoch ms at its start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteCounts {
    pub minute: i64,
    pub counts: BTreeMap<String, u64>,
}

/// The start of the minute `at` (epoch ms) falls in.
pub fn minute_of(at: i64) -> i64 {
    at - at.rem_euclid(60_000)
}

#[async_trait]
pub trait StatsHistory: Send + Sync + 'static {
    /// Adds `counts` to the minute starting at `minute` (a multiple of 60,000); zero counts
    /// may be left out.
    async fn add_minute(&self, minute: i64, counts: &BTreeMap<String, u64>) -> Result<()>;

    /// The minutes starting at or after `since`, oldest first (minutes with nothing added are
    /// absent).
    async fn minutes(&self, since: i64) -> Result<Vec<MinuteCounts>>;
}
