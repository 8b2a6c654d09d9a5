//! The task event stream: `{ns}:events`, capped with `XADD MAXLEN ~`, one entry per emitted
//! batch; a cursor is a stream id, or `ID#K` inside a batch.

use super::{millis, redis_error, RedisStore};
use crate::{AdapterError, Result, TaskEvent};
use redis::streams::StreamReadReply;
use std::time::Duration;

/// Events kept on the stream (approximately); older ones are trimmed.
const EVENTS_MAXLEN: usize = 10_000;

impl RedisStore {
    /// Appends one stream entry per call holding the whole batch (field `b`, a JSON array), so a
    /// worker's flush costs one XADD however many events it carries.
    pub(super) async fn emit_events(&self, events: &[TaskEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let json = serde_json::to_string(events)
            .map_err(|e| AdapterError::permanent(format!("task event: {e}")))?;
        redis::cmd("XADD")
            .arg(self.keys.events())
            .arg("MAXLEN")
            .arg("~")
            .arg(EVENTS_MAXLEN)
            .arg("*")
            .arg("b")
            .arg(json)
            .exec_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("emit events", e))
    }

    /// Events after `cursor`. A cursor is a stream id (everything up to and including that
    /// entry was read) or `ID#K` (the first K events of entry ID were read).
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
        let (mut after, skip) = match cursor.split_once('#') {
            Some((id, k)) => (id.to_string(), k.parse::<usize>().unwrap_or(0)),
            None => (cursor.clone(), 0),
        };
        let mut out = Vec::new();
        if skip > 0 {
            let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                .arg(&key)
                .arg(&after)
                .arg(&after)
                .query_async(&mut self.conn())
                .await
                .map_err(|e| redis_error("read events", e))?;
            let rest: Vec<TaskEvent> = reply
                .ids
                .first()
                .map(|e| decode(&e.map))
                .unwrap_or_default()
                .into_iter()
                .skip(skip)
                .collect();
            if rest.len() > limit {
                let taken: Vec<TaskEvent> = rest.into_iter().take(limit).collect();
                return Ok((taken, format!("{after}#{}", skip + limit)));
            }
            out.extend(rest);
        }
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(limit);
        let block = out.is_empty() && !wait.is_zero();
        if block {
            cmd.arg("BLOCK").arg(millis(wait));
        }
        cmd.arg("STREAMS").arg(&key).arg(&after);
        let reply: Option<StreamReadReply> = if block {
            self.blocking.run(&cmd, wait).await
        } else {
            cmd.query_async(&mut self.conn()).await
        }
        .map_err(|e| redis_error("read events", e))?;
        let entries = reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids);
        for entry in entries {
            let events = decode(&entry.map);
            let room = limit - out.len();
            if events.len() > room {
                out.extend(events.into_iter().take(room));
                return Ok((out, format!("{}#{room}", entry.id)));
            }
            out.extend(events);
            after = entry.id;
            if out.len() == limit {
                break;
            }
        }
        Ok((out, after))
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

/// The events of one stream entry: a batch (`b`) or, from older writers, one event (`d`).
fn decode(map: &std::collections::HashMap<String, redis::Value>) -> Vec<TaskEvent> {
    let text = |field: &str| match map.get(field) {
        Some(redis::Value::BulkString(bytes)) => {
            std::str::from_utf8(bytes).ok().map(str::to_string)
        }
        _ => None,
    };
    if let Some(batch) = text("b") {
        return serde_json::from_str(&batch).unwrap_or_default();
    }
    text("d")
        .and_then(|one| serde_json::from_str(&one).ok())
        .into_iter()
        .collect()
}
