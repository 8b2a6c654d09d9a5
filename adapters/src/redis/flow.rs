//! `FlowControl` for Redis: a unique lock is a string with a TTL (`{ns}:unique:{key}`), pauses a
//! set (`{ns}:paused`), a token bucket a hash (`{ns}:bucket:{key}`), slots a sorted set of
//! holders by lease end (`{ns}:slots:{key}`), a debounce burst a hash by run id
//! (`{ns}:debounce:run:{id}`) with its key's open burst a string (`{ns}:debounce:open:{key}`); every read-modify-write is one script on Redis's
//! clock.

use super::{redis_error, scripts, RedisStore};
use crate::debounce::{DebouncePut, DebounceTake, KEEP_TAKEN};
use crate::flow::FlowControl;
use crate::Result;
use async_trait::async_trait;
use std::time::Duration;

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl FlowControl for RedisStore {
    async fn claim_unique(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
        stale: Option<&str>,
    ) -> Result<Option<String>> {
        scripts::CLAIM_UNIQUE
            .key(self.keys.unique(key))
            .arg(holder)
            .arg(ms(ttl))
            .arg(stale.unwrap_or(""))
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("claim unique", e))
    }

    async fn release_unique(&self, key: &str, holder: &str) -> Result<bool> {
        scripts::RELEASE_UNIQUE
            .key(self.keys.unique(key))
            .arg(holder)
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map(|n| n > 0)
            .map_err(|e| redis_error("release unique", e))
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        let mut cmd = redis::cmd(if paused { "SADD" } else { "SREM" });
        cmd.arg(self.keys.paused()).arg(queue);
        cmd.query_async::<i64>(&mut self.conn())
            .await
            .map(drop)
            .map_err(|e| redis_error("pause", e))
    }

    async fn paused_queues(&self) -> Result<Vec<String>> {
        let mut queues: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.paused())
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("paused queues", e))?;
        queues.sort();
        Ok(queues)
    }

    async fn take_token(
        &self,
        bucket: &str,
        per_second: f64,
        burst: u32,
    ) -> Result<Option<Duration>> {
        let wait: u64 = scripts::TAKE_TOKEN
            .key(self.keys.bucket(bucket))
            .arg(per_second)
            .arg(burst)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("rate limit", e))?;
        Ok((wait > 0).then(|| Duration::from_millis(wait)))
    }

    async fn take_slot(&self, key: &str, max: u32, holder: &str, lease: Duration) -> Result<bool> {
        scripts::TAKE_SLOT
            .key(self.keys.slots(key))
            .arg(max)
            .arg(holder)
            .arg(ms(lease))
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map(|n| n == 1)
            .map_err(|e| redis_error("concurrency slot", e))
    }

    async fn release_slot(&self, key: &str, holder: &str) -> Result<()> {
        redis::cmd("ZREM")
            .arg(self.keys.slots(key))
            .arg(holder)
            .query_async::<i64>(&mut self.conn())
            .await
            .map(drop)
            .map_err(|e| redis_error("release slot", e))
    }

    async fn debounce_put(
        &self,
        key: &str,
        id: &str,
        payload: &str,
        window: Duration,
        max_wait: Option<Duration>,
    ) -> Result<DebouncePut> {
        let prefix = self.keys.debounce_run_prefix();
        let (id, due, first): (String, i64, i64) = scripts::DEBOUNCE_PUT
            .key(self.keys.debounce_open(key))
            .key(format!("{prefix}{id}"))
            .arg(id)
            .arg(key)
            .arg(payload)
            .arg(ms(window))
            .arg(max_wait.map_or(0, ms))
            .arg(prefix)
            .arg(ms(KEEP_TAKEN))
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("debounce", e))?;
        Ok(DebouncePut {
            id,
            due,
            first: first == 1,
        })
    }

    async fn debounce_take(&self, key: &str, id: &str) -> Result<DebounceTake> {
        let prefix = self.keys.debounce_run_prefix();
        let (what, value): (String, String) = scripts::DEBOUNCE_TAKE
            .key(self.keys.debounce_open(key))
            .key(format!("{prefix}{id}"))
            .arg(id)
            .arg(key)
            .arg(ms(KEEP_TAKEN))
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("debounce take", e))?;
        Ok(match what.as_str() {
            "wait" => DebounceTake::Wait(value.parse().unwrap_or(0)),
            "take" => DebounceTake::Take(value),
            _ => DebounceTake::Gone,
        })
    }

    async fn debounce_done(&self, key: &str, id: &str) -> Result<()> {
        let prefix = self.keys.debounce_run_prefix();
        scripts::DEBOUNCE_DONE
            .key(self.keys.debounce_open(key))
            .key(format!("{prefix}{id}"))
            .arg(id)
            .arg(key)
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map(drop)
            .map_err(|e| redis_error("debounce done", e))
    }
}
