//! Cluster mode's outbox: a commit (or a dead-letter replay) runs in its queue's slot, so what
//! it publishes to another queue — a canvas follow-up, a release to another queue, a replayed
//! letter — is written to that queue's outbox hash (`{ns}:q:{queue}:outbox`) in the same atomic
//! step, then sent by the caller and deleted. An item a crashed caller left behind is sent by
//! the next fetch sweep of that queue once it is [`STALE`] old: follow-ups are at least once,
//! never lost and never sent for a commit that was refused.

use super::broker::Placement;
use super::{redis_error, RedisStore};
use crate::Result;
use redis::ScriptInvocation;
use std::collections::HashMap;
use std::time::Duration;
use stem_protocol::{now_ms, TaskEnvelope};

/// How old an outbox item must be before a sweep sends it (its writer had that long).
const STALE: Duration = Duration::from_secs(30);

/// One publish waiting in an outbox: its field (`{ms}-{uuid}`) and where it goes.
pub(super) struct Item {
    field: String,
    queue: String,
    place: Placement,
}

impl Item {
    fn json(&self) -> String {
        serde_json::json!([
            self.place.mode,
            self.place.due,
            self.queue,
            self.place.key,
            self.place.payload
        ])
        .to_string()
    }

    fn parse(field: &str, json: &str) -> Option<Item> {
        let (mode, due, queue, key, payload): (String, i64, String, String, String) =
            serde_json::from_str(json).ok()?;
        Some(Item {
            field: field.to_string(),
            queue,
            place: Placement {
                key,
                mode: if mode == "delayed" {
                    "delayed"
                } else {
                    "ready"
                },
                payload,
                due,
            },
        })
    }

    /// The script arguments of a publish into `outbox`: key, mode `outbox`, the item, its
    /// field, the target queue (as the commit and replay scripts take a target).
    pub(super) fn add_to(&self, call: &mut ScriptInvocation<'_>, outbox: &str) {
        call.key(outbox)
            .arg("outbox")
            .arg(self.json())
            .arg(&self.field)
            .arg(&self.queue);
    }
}

impl RedisStore {
    /// An outbox item publishing `env`, ready at `due` when that is in the future.
    pub(super) fn outbox_item(&self, env: &TaskEnvelope, due: Option<i64>) -> Item {
        Item {
            field: format!("{}-{}", now_ms(), uuid::Uuid::new_v4().simple()),
            queue: env.queue.clone(),
            place: self.placement(env, due),
        }
    }

    /// Publishes `items` (each to its own queue's slot), then deletes them from `outbox`.
    pub(super) async fn send_outbox(&self, outbox: &str, items: &[Item]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut queues: Vec<&str> = items.iter().map(|i| i.queue.as_str()).collect();
        queues.sort_unstable();
        queues.dedup();
        redis::cmd("SADD")
            .arg(self.keys.queues())
            .arg(queues)
            .exec_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("publish from the outbox", e))?;
        let sends = items.iter().map(|item| {
            let mut conn = self.conn();
            let p = &item.place;
            let mut cmd = match p.mode {
                "delayed" => redis::cmd("ZADD"),
                _ => redis::cmd("XADD"),
            };
            match p.mode {
                "delayed" => cmd.arg(&p.key).arg(p.due).arg(&p.payload),
                _ => cmd.arg(&p.key).arg("*").arg("e").arg(&p.payload),
            };
            async move { cmd.exec_async(&mut conn).await }
        });
        futures_util::future::try_join_all(sends)
            .await
            .map_err(|e| redis_error("publish from the outbox", e))?;
        let fields: Vec<&str> = items.iter().map(|i| i.field.as_str()).collect();
        redis::cmd("HDEL")
            .arg(outbox)
            .arg(fields)
            .exec_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("clear the outbox", e))
    }

    /// Sends what a crashed writer left in `queue`'s outbox ([`STALE`] old or more).
    pub(super) async fn sweep_outbox(&self, queue: &str) -> Result<()> {
        let outbox = self.keys.outbox(queue);
        let all: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(&outbox)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("read the outbox", e))?;
        let before = now_ms() - STALE.as_millis() as i64;
        let items: Vec<Item> = all
            .iter()
            .filter(|(field, _)| {
                field
                    .split('-')
                    .next()
                    .and_then(|ms| ms.parse::<i64>().ok())
                    .is_some_and(|ms| ms <= before)
            })
            .filter_map(|(field, json)| Item::parse(field, json))
            .collect();
        self.send_outbox(&outbox, &items).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip() {
        let item = Item {
            field: "1-a".into(),
            queue: "q".into(),
            place: Placement {
                key: "ns:delayed:{q}".into(),
                mode: "delayed",
                payload: "5|{}".into(),
                due: 7,
            },
        };
        let back = Item::parse("1-a", &item.json()).unwrap();
        assert_eq!((back.queue, back.place.key), (item.queue, item.place.key));
        assert_eq!((back.place.mode, back.place.due), ("delayed", 7));
        assert!(Item::parse("1-a", "not json").is_none());
    }
}
