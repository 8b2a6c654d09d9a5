//! Finding a task by id in the broker (`BrokerAdmin::find_task`): every queue's band streams,
//! fair zsets (keyed tasks) and delayed set are read in pages (XRANGE / ZRANGE of a thousand), so Redis is never blocked
//! for long; entries are matched on the envelope's `"id"` and confirmed by parsing. An
//! operator's lookup, linear in the queued tasks.

use super::{redis_error, RedisStore};
use crate::{BrokerAdmin, Result};
use redis::AsyncCommands;

const PAGE: usize = 1000;

fn names(json: &str, id: &str, needle: &str) -> bool {
    json.contains(needle)
        && serde_json::from_str::<serde_json::Value>(json)
            .is_ok_and(|v| v.get("id").and_then(|i| i.as_str()) == Some(id))
}

pub(super) async fn find_task(store: &RedisStore, id: &str) -> Result<Option<String>> {
    let needle = format!("\"id\":{}", serde_json::Value::String(id.to_string()));
    let mut conn = store.conn();
    for queue in store.queues().await? {
        for stream in store.keys.streams_high_first(&queue) {
            let mut start = "-".to_string();
            loop {
                let page: redis::streams::StreamRangeReply = conn
                    .xrange_count(&stream, &start, "+", PAGE)
                    .await
                    .map_err(|e| redis_error("find task", e))?;
                for entry in &page.ids {
                    let json: Option<String> = entry.get("e");
                    if json.is_some_and(|j| names(&j, id, &needle)) {
                        return Ok(Some(queue));
                    }
                }
                match page.ids.last() {
                    Some(last) if page.ids.len() == PAGE => start = format!("({}", last.id),
                    _ => break,
                }
            }
        }
        let mut sets: Vec<String> = (0..super::keys::BANDS)
            .map(|band| store.keys.fair(&queue, band))
            .collect();
        sets.push(store.keys.delayed(&queue));
        for set in sets {
            if in_set(&mut conn, &set, id, &needle).await? {
                return Ok(Some(queue));
            }
        }
    }
    Ok(None)
}

/// Whether a member of zset `set` (`"{prefix}|{envelope}"`) is task `id`, read in pages.
async fn in_set(conn: &mut super::Conn, set: &str, id: &str, needle: &str) -> Result<bool> {
    let mut from = 0isize;
    loop {
        let members: Vec<String> = conn
            .zrange(set, from, from + PAGE as isize - 1)
            .await
            .map_err(|e| redis_error("find task", e))?;
        let found = members.iter().any(|m| {
            let json = m.split_once('|').map_or(m.as_str(), |(_, j)| j);
            names(json, id, needle)
        });
        if found {
            return Ok(true);
        }
        if members.len() < PAGE {
            return Ok(false);
        }
        from += PAGE as isize;
    }
}
