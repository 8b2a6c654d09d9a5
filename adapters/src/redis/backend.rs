//! `ResultBackend` for Redis: one JSON string per task (`{ns}:r:{id}`) with the TTL, written by
//! one script call per batch, fenced by generation (see [`super::commit`]). Waiting does not poll: writing a terminal record also pushes a token
//! onto `{ns}:w:{id}`, and a waiter checks the record first, then blocks on BLPOP of that list on a
//! dedicated connection. A waiter that woke up puts the token back so every other waiter wakes
//! too; a non-terminal write clears the token so a replayed task is waited for afresh.
//! Listing walks the record index (`{ns}:ri`, ids by `updated_at`) newest first, a page at a
//! time, reads the records with MGET and drops index entries whose record has expired.

use super::{millis, redis_error, scripts, RedisStore};
use crate::{codec, RecordFilter, Result, ResultBackend};
use async_trait::async_trait;
use std::time::{Duration, Instant};
use stem_protocol::TaskRecord;

/// Index entries read per round trip when listing.
const LIST_PAGE: usize = 500;

/// How long a wake-up token outlives the write: long enough for every waiter blocked then.
pub(super) const TOKEN_TTL: Duration = Duration::from_secs(60);

impl RedisStore {
    async fn push_token(&self, id: &str) -> Result<()> {
        let key = self.keys.waker(id);
        redis::pipe()
            .atomic()
            .lpush(&key, 1)
            .ignore()
            .pexpire(&key, millis(TOKEN_TTL) as i64)
            .ignore()
            .exec_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("wake result waiters", e))
    }

    /// Blocks until a token is on `id`'s list or `timeout` passes; true when one was taken.
    async fn take_token(&self, id: &str, timeout: Duration) -> Result<bool> {
        let secs = (timeout.as_secs_f64()).max(0.001);
        let mut cmd = redis::cmd("BLPOP");
        cmd.arg(self.keys.waker(id)).arg(format!("{secs:.3}"));
        let popped: Option<(String, String)> = self
            .blocking
            .run(&cmd, timeout)
            .await
            .map_err(|e| redis_error("wait for result", e))?;
        Ok(popped.is_some())
    }
}

#[async_trait]
impl ResultBackend for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn set(&self, records: &[TaskRecord], ttl: Duration) -> Result<Vec<bool>> {
        self.set_records(records, ttl).await
    }

    async fn get(&self, id: &str) -> Result<Option<TaskRecord>> {
        let raw: Option<String> = redis::cmd("GET")
            .arg(self.keys.record(id))
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("get result", e))?;
        raw.map(|json| codec::decode_record(id, &json)).transpose()
    }

    async fn group_join(
        &self,
        group: &str,
        index: u32,
        size: u32,
        result: &serde_json::Value,
        ttl: Duration,
    ) -> Result<bool> {
        self.join(group, index, size, result, ttl).await
    }

    async fn group_fail(&self, group: &str, index: u32, size: u32, ttl: Duration) -> Result<bool> {
        self.fail(group, index, size, ttl).await
    }

    async fn group_results(&self, group: &str) -> Result<Option<Vec<Option<serde_json::Value>>>> {
        self.results(group).await
    }

    async fn wait(&self, id: &str, timeout: Duration) -> Result<Option<TaskRecord>> {
        let deadline = Instant::now() + timeout;
        let mut woke = false;
        loop {
            let record = self.get(id).await?;
            if record.as_ref().is_some_and(|r| r.state.is_terminal()) {
                if woke {
                    self.push_token(id).await?;
                }
                return Ok(record);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(record);
            }
            woke = self.take_token(id, deadline - now).await?;
        }
    }

    async fn list(&self, filter: &RecordFilter) -> Result<Vec<TaskRecord>> {
        let index = self.keys.record_index();
        let min = filter.since.map_or("-inf".to_string(), |t| t.to_string());
        // Scores tie in member order, largest first: the listing's order. A cursor starts the
        // scan at its time; `filter.matches` skips its ties up to and including it.
        let max = filter
            .after
            .as_ref()
            .map_or("+inf".to_string(), |c| c.updated_at.to_string());
        let limit = filter.limit();
        let mut found = Vec::new();
        let mut offset = 0;
        while found.len() < limit {
            let ids: Vec<String> = redis::cmd("ZREVRANGEBYSCORE")
                .arg(&index)
                .arg(&max)
                .arg(&min)
                .arg("LIMIT")
                .arg(offset)
                .arg(LIST_PAGE)
                .query_async(&mut self.conn())
                .await
                .map_err(|e| redis_error("list results", e))?;
            if ids.is_empty() {
                break;
            }
            offset += ids.len();
            let keys: Vec<String> = ids.iter().map(|id| self.keys.record(id)).collect();
            let bodies: Vec<Option<String>> = redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut self.conn())
                .await
                .map_err(|e| redis_error("list results", e))?;
            let mut gone = Vec::new();
            for (id, body) in ids.iter().zip(bodies) {
                match body {
                    None => gone.push(id.as_str()),
                    Some(json) => {
                        let record = codec::decode_listed_record(id, &json)?;
                        if found.len() < limit && filter.matches(&record) {
                            found.push(record);
                        }
                    }
                }
            }
            if !gone.is_empty() {
                offset -= gone.len();
                let _: i64 = redis::cmd("ZREM")
                    .arg(&index)
                    .arg(&gone)
                    .query_async(&mut self.conn())
                    .await
                    .map_err(|e| redis_error("prune the record index", e))?;
            }
        }
        Ok(found)
    }

    async fn delete_finished(&self, ids: &[String]) -> Result<Vec<String>> {
        let mut deleted = Vec::new();
        for chunk in ids.chunks(LIST_PAGE) {
            let mut call = scripts::DELETE_FINISHED.prepare_invoke();
            call.key(self.keys.record_index());
            for id in chunk {
                call.key(self.keys.record(id)).arg(id);
            }
            let gone: Vec<String> = call
                .invoke_async(&mut self.conn())
                .await
                .map_err(|e| redis_error("delete finished records", e))?;
            deleted.extend(gone);
        }
        Ok(deleted)
    }

    async fn ping(&self) -> Result<()> {
        self.ping_redis().await
    }
}
