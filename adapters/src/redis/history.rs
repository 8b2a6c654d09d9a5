//! `StatsHistory` on Redis: one hash per minute (`HINCRBY` per counter, expiring after the
//! retention) and a sorted set of the minutes, trimmed on each add.

use super::{redis_error, RedisStore};
use crate::history::HISTORY_KEEP_MS;
use crate::{MinuteCounts, Result, StatsHistory};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use stem_protocol::now_ms;

#[async_trait]
impl StatsHistory for RedisStore {
    async fn add_minute(&self, minute: i64, counts: &BTreeMap<String, u64>) -> Result<()> {
        let key = self.keys.stats_minute(minute);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (name, n) in counts.iter().filter(|(_, v)| **v > 0) {
            pipe.hincr(&key, name, *n).ignore();
        }
        pipe.pexpire(&key, HISTORY_KEEP_MS + 60_000)
            .ignore()
            .zadd(self.keys.stats(), minute, minute)
            .ignore()
            .zrembyscore(self.keys.stats(), "-inf", now_ms() - HISTORY_KEEP_MS - 1)
            .ignore();
        pipe.exec_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("add minute", e))
    }

    async fn minutes(&self, since: i64) -> Result<Vec<MinuteCounts>> {
        let minutes: Vec<i64> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.keys.stats())
            .arg(since)
            .arg("+inf")
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("minutes", e))?;
        if minutes.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for m in &minutes {
            pipe.hgetall(self.keys.stats_minute(*m));
        }
        let hashes: Vec<HashMap<String, u64>> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("minutes", e))?;
        Ok(minutes
            .into_iter()
            .zip(hashes)
            .filter(|(_, h)| !h.is_empty())
            .map(|(minute, h)| MinuteCounts {
                minute,
                counts: h.into_iter().collect(),
            })
            .collect())
    }
}
