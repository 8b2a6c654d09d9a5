//! Cluster mode's outbox: a commit (or a dead-letter replay) runs in its queue's slot, so what
//! it publishes to another queue — a canvas follow-up, a release to another queue, a replayed
//! letter — is written to that queue's outbox hash (`{ns}:q:{queue}:outbox`) in the same atomic
//! step, then sent by the caller and deleted. An item a crashed caller left behind is sent by
//! the next fetch sweep of that queue once it is [`STALE`] old: follow-ups are at least once,
//! never lost and never sent for a commit that was refused.

use super::broker::{FairPlace, Placement};
use super::{redis_error, scripts, RedisStore};
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
        let p = &self.place;
        let mut v = serde_json::json!([p.mode, p.due, self.queue, p.key, p.payload]);
        if let (Some(f), Some(a)) = (&p.fair, v.as_array_mut()) {
            a.extend([
                f.state.clone().into(),
                f.wake.clone().into(),
                f.key.clone().into(),
                f.step.into(),
                f.band.into(),
            ]);
        }
        v.to_string()
    }

    fn parse(field: &str, json: &str) -> Option<Item> {
        let v: Vec<serde_json::Value> = serde_json::from_str(json).ok()?;
        let text = |i: usize| v.get(i).and_then(|x| x.as_str()).map(str::to_string);
        let mode = text(0)?;
        let queue = text(2)?;
        let fair = match v.len() {
            5 => None,
            10 => Some(FairPlace {
                state: text(5)?,
                wake: text(6)?,
                key: text(7)?,
                step: u32::try_from(v[8].as_u64()?).ok()?,
                band: u8::try_from(v[9].as_u64()?).ok()?,
                keep: false,
            }),
            _ => return None,
        };
        let mode = match (mode.as_str(), fair.is_some()) {
            ("delayed", false) => "delayed",
            ("fair_delayed", true) => "fair_delayed",
            (_, true) => "fair",
            _ => "ready",
        };
        Some(Item {
            field: field.to_string(),
            queue: queue.clone(),
            place: Placement {
                key: text(3)?,
                mode,
                payload: text(4)?,
                due: v.get(1)?.as_i64()?,
                queue,
                fair,
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
            async move {
                if let Some(f) = &p.fair {
                    // A keyed task gets its vt in its target queue's slot.
                    let mut call = scripts::PUBLISH.prepare_invoke();
                    call.key(&f.state).arg("0").arg(1);
                    p.add_to(&mut call);
                    return call.invoke_async::<i64>(&mut conn).await.map(drop);
                }
                cmd.exec_async(&mut conn).await
            }
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
                queue: "q".into(),
                fair: None,
            },
        };
        let back = Item::parse("1-a", &item.json()).unwrap();
        assert_eq!((back.queue, back.place.key), (item.queue, item.place.key));
        assert_eq!((back.place.mode, back.place.due), ("delayed", 7));
        assert!(back.place.fair.is_none());
        assert!(Item::parse("1-a", "not json").is_none());
        let keyed = Item {
            field: "1-b".into(),
            queue: "q".into(),
            place: Placement {
                key: "ns:q:{q}:p3:fair".into(),
                mode: "fair",
                payload: "{}".into(),
                due: 0,
                queue: "q".into(),
                fair: Some(FairPlace {
                    state: "ns:q:{q}:fair".into(),
                    wake: "ns:q:{q}:wake".into(),
                    key: "tenant".into(),
                    step: 333_333,
                    band: 3,
                    keep: true,
                }),
            },
        };
        let back = Item::parse("1-b", &keyed.json()).unwrap();
        let f = back.place.fair.unwrap();
        assert_eq!(
            (back.place.mode, f.key.as_str(), f.step, f.band),
            ("fair", "tenant", 333_333, 3)
        );
        assert!(!f.keep);
    }
}
