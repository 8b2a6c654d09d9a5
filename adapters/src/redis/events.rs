//! The task event stream: `{ns}:events`, capped with `XADD MAXLEN ~`; a cursor is a stream id.

use super::control::entries;
use super::{millis, redis_error, RedisStore};
use crate::{AdapterError, Result, TaskEvent};
use redis::streams::StreamReadReply;
use std::time::Duration;

/// Events kept on the stream (approximately); older ones are trimmed.
const EVENTS_MAXLEN: usize = 10_000;

impl RedisStore {
    pub(super) async fn emit_events(&self, events: &[TaskEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for event in events {
            let json = serde_json::to_string(event)
                .map_err(|e| AdapterError::permanent(format!("task event: {e}")))?;
            pipe.cmd("XADD")
                .arg(self.keys.events())
                .arg("MAXLEN")
                .arg("~")
                .arg(EVENTS_MAXLEN)
                .arg("*")
                .arg("d")
                .arg(json)
                .ignore();
        }
        pipe.exec_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("emit events", e))
    }

    pub(super) async fn read_events(
        &self,
        cursor: Option<&str>,
        limit: usize,
        wait: Duration,
    ) -> Result<(Vec<TaskEvent>, String)> {
        let key = self.keys.events();
        let cursor = match cursor {
            Some("0") => "0-0".to_string(),
            Some(cursor) => cursor.to_string(),
            None => self.last_event_id().await?,
        };
        if limit == 0 {
            return Ok((Vec::new(), cursor));
        }
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(limit);
        if !wait.is_zero() {
            cmd.arg("BLOCK").arg(millis(wait));
        }
        cmd.arg("STREAMS").arg(&key).arg(&cursor);
        let reply: Option<StreamReadReply> = if wait.is_zero() {
            cmd.query_async(&mut self.conn()).await
        } else {
            self.blocking.run(&cmd, wait).await
        }
        .map_err(|e| redis_error("read events", e))?;
        let batch = entries(reply);
        let next = batch.last().map_or(cursor, |(id, _)| id.clone());
        let events = batch
            .into_iter()
            .filter_map(|(_, json)| json.and_then(|j| serde_json::from_str(&j).ok()))
            .collect();
        Ok((events, next))
    }

    /// The id of the newest event, or `0-0` when there is none.
    async fn last_event_id(&self) -> Result<String> {
        let reply: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.keys.events())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("read events", e))?;
        Ok(reply
            .ids
            .first()
            .map_or("0-0".to_string(), |entry| entry.id.clone()))
    }
}
