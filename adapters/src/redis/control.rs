//! `ControlPlane` for Redis. Commands go on a capped stream (`{ns}:ctl`) that every worker reads
//! with XREAD BLOCK; replies go to a short-lived stream per request (`{ns}:ctl:reply:{id}`) that
//! the sender reads with XREAD BLOCK (reading does not consume, so replies can be read again); heartbeats are keys with a TTL plus a sorted-set index by
//! expiry. The task event stream lives in [`super::events`].

use super::{millis, redis_error, RedisStore};
use crate::{
    AdapterError, ControlPlane, ControlReply, ControlRequest, Heartbeat, Result, TaskEvent,
};
use async_trait::async_trait;
use redis::streams::StreamReadReply;
use redis::Value;
use std::time::{Duration, Instant};
use stem_protocol::now_ms;

/// Commands kept on the control stream (approximately).
const CONTROL_MAXLEN: usize = 1_000;
/// How long replies wait for their reader.
const REPLY_TTL: Duration = Duration::from_secs(300);
/// Read window before `since`: stream ids carry the Redis server's clock, `sent_at` the
/// sender's, so the read starts early and filters on `sent_at`.
const CLOCK_SKEW_MS: i64 = 10_000;
/// Entries per control-stream read.
const READ_BATCH: usize = 100;

/// The JSON values of field `d` of stream entries, with their ids.
pub(super) fn entries(reply: Option<StreamReadReply>) -> Vec<(String, Option<String>)> {
    let ids = reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids);
    ids.map(|entry| {
        let json = match entry.map.get("d") {
            Some(Value::BulkString(bytes)) => String::from_utf8(bytes.clone()).ok(),
            _ => None,
        };
        (entry.id, json)
    })
    .collect()
}

impl RedisStore {
    /// One XREAD of the control stream after `cursor`, blocking up to `block` when given.
    async fn read_control(
        &self,
        cursor: &str,
        block: Option<Duration>,
    ) -> Result<Vec<(String, Option<String>)>> {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(READ_BATCH);
        if let Some(block) = block {
            cmd.arg("BLOCK").arg(millis(block));
        }
        cmd.arg("STREAMS").arg(self.keys.control()).arg(cursor);
        let reply: Option<StreamReadReply> = match block {
            Some(block) => self.blocking.run(&cmd, block).await,
            None => cmd.query_async(&mut self.conn()).await,
        }
        .map_err(|e| redis_error("read control commands", e))?;
        Ok(entries(reply))
    }
}

#[async_trait]
impl ControlPlane for RedisStore {
    async fn send(&self, request: &ControlRequest) -> Result<()> {
        let json = serde_json::to_string(request)
            .map_err(|e| AdapterError::permanent(format!("control request: {e}")))?;
        redis::cmd("XADD")
            .arg(self.keys.control())
            .arg("MAXLEN")
            .arg("~")
            .arg(CONTROL_MAXLEN)
            .arg("*")
            .arg("d")
            .arg(json)
            .exec_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("send control command", e))
    }

    async fn requests(
        &self,
        worker: &str,
        since: i64,
        wait: Duration,
    ) -> Result<Vec<ControlRequest>> {
        let deadline = Instant::now() + wait;
        let mut cursor = format!("{}-0", (since - CLOCK_SKEW_MS).max(0));
        let mut caught_up = false;
        let mut out = Vec::new();
        loop {
            let now = Instant::now();
            let block = match caught_up {
                false => None,
                true if now < deadline => Some(deadline - now),
                true => return Ok(out),
            };
            let batch = self.read_control(&cursor, block).await?;
            caught_up = batch.len() < READ_BATCH;
            for (id, json) in batch {
                cursor = id;
                let Some(request) =
                    json.and_then(|j| serde_json::from_str::<ControlRequest>(&j).ok())
                else {
                    continue;
                };
                let addressed = match request.target.as_deref() {
                    None => true,
                    Some(target) => target == worker,
                };
                if request.sent_at > since && addressed {
                    out.push(request);
                }
            }
            if caught_up && !out.is_empty() {
                return Ok(out);
            }
        }
    }

    async fn reply(&self, reply: &ControlReply) -> Result<()> {
        let json = serde_json::to_string(reply)
            .map_err(|e| AdapterError::permanent(format!("control reply: {e}")))?;
        let key = self.keys.replies(&reply.request_id);
        redis::pipe()
            .cmd("XADD")
            .arg(&key)
            .arg("*")
            .arg("d")
            .arg(json)
            .ignore()
            .pexpire(&key, millis(REPLY_TTL) as i64)
            .ignore()
            .exec_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("reply to control command", e))
    }

    async fn replies(
        &self,
        request_id: &str,
        expect: Option<usize>,
        timeout: Duration,
    ) -> Result<Vec<ControlReply>> {
        let key = self.keys.replies(request_id);
        let deadline = Instant::now() + timeout;
        let mut cursor = "0-0".to_string();
        let mut out: Vec<ControlReply> = Vec::new();
        loop {
            let now = Instant::now();
            if expect.is_some_and(|n| out.len() >= n) || now >= deadline {
                return Ok(out);
            }
            let block = deadline - now;
            let mut cmd = redis::cmd("XREAD");
            cmd.arg("COUNT")
                .arg(READ_BATCH)
                .arg("BLOCK")
                .arg(millis(block))
                .arg("STREAMS")
                .arg(&key)
                .arg(&cursor);
            let reply: Option<StreamReadReply> = self
                .blocking
                .run(&cmd, block)
                .await
                .map_err(|e| redis_error("wait for control replies", e))?;
            for (id, json) in entries(reply) {
                cursor = id;
                out.extend(json.and_then(|j| serde_json::from_str(&j).ok()));
            }
        }
    }

    async fn heartbeat(&self, heartbeat: &Heartbeat, ttl: Duration) -> Result<()> {
        let json = serde_json::to_string(heartbeat)
            .map_err(|e| AdapterError::permanent(format!("heartbeat: {e}")))?;
        let expires = now_ms() + millis(ttl) as i64;
        redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(self.keys.heartbeat(&heartbeat.worker))
            .arg(json)
            .arg("PX")
            .arg(millis(ttl))
            .ignore()
            .zadd(self.keys.heartbeats(), &heartbeat.worker, expires)
            .ignore()
            .exec_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("heartbeat", e))
    }

    async fn workers(&self) -> Result<Vec<Heartbeat>> {
        let index = self.keys.heartbeats();
        let (_, names): ((), Vec<String>) = redis::pipe()
            .atomic()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&index)
            .arg("-inf")
            .arg(now_ms())
            .ignore()
            .zrange(&index, 0, -1)
            .query_async::<(Vec<String>,)>(&mut self.conn())
            .await
            .map(|(names,)| ((), names))
            .map_err(|e| redis_error("list workers", e))?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = names.iter().map(|w| self.keys.heartbeat(w)).collect();
        let raw: Vec<Option<String>> = redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("read heartbeats", e))?;
        let mut workers: Vec<Heartbeat> = raw
            .iter()
            .flatten()
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect();
        workers.sort_by(|a, b| a.worker.cmp(&b.worker));
        Ok(workers)
    }

    async fn emit(&self, events: &[TaskEvent]) -> Result<()> {
        self.emit_events(events).await
    }

    async fn events(
        &self,
        cursor: Option<&str>,
        limit: usize,
        wait: Duration,
    ) -> Result<(Vec<TaskEvent>, String)> {
        self.read_events(cursor, limit, wait).await
    }
}
