//! Leased fetch: one script call does the delayed-task mover, takeover of expired leases and the
//! read of new entries, recording a lease for every entry it hands out (see `lua/fetch.lua`).
//! When that finds nothing, a blocking XREAD on a dedicated connection waits, from the group's
//! last-delivered id, for an entry that no consumer has seen yet (or, on the queue's wake
//! stream, for the marker of a keyed publish, whose task waits in a fair zset), and the script
//! runs again. The wait is capped by the next delayed task's due time, the next lease expiry and [`MAX_BLOCK`],
//! so a due task or an expired lease is picked up on time without busy polling. (Waiting with
//! XREAD instead of XREADGROUP BLOCK means no entry is ever delivered without its lease being
//! recorded in the same atomic step, even when a fetch is cancelled while it waits.)
//!
//! On a Redis Cluster each queue is its own slot, so a fetch over several queues runs the
//! script once per queue, in the order given, each taking what the earlier ones left of `max`
//! (queue order first, then priority within a queue), and waits with one blocking XREAD per
//! queue at once, on the nodes owning them, until the first answers. The periodic sweep also
//! sends what a crashed committer left in the queues' outboxes.

use super::receipt::Receipt;
use super::{is_nogroup, millis, redis_error, scripts, RedisStore};
use crate::{codec, Delivery, Payload, Result};
use redis::RedisResult;
use std::time::{Duration, Instant};

/// Longest single blocking wait. Delayed tasks published while a fetch waits are noticed within
/// this time.
const MAX_BLOCK: Duration = Duration::from_secs(1);

/// How often a store looks for pending entries that have no lease record (see `fetch.lua`).
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// One entry as the fetch script returns it: queue index (1-based), band, id, delivery count,
/// and the entry's fields as a flat list.
type ScriptEntry = (usize, u8, String, u32, Vec<Vec<u8>>);

/// What one run of the fetch script found.
struct Found {
    /// Milliseconds until the next delayed task is due, or -1.
    next_due: i64,
    /// Milliseconds until the next lease expires, or -1.
    next_expiry: i64,
    deliveries: Vec<Delivery>,
    /// Per queue in order, the group's last-delivered id of each stream (bands high to low),
    /// then the last id of the queue's wake stream; empty when deliveries were found.
    last_ids: Vec<String>,
}

impl RedisStore {
    pub(super) async fn fetch_leased(
        &self,
        consumer: &str,
        queues: &[String],
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Delivery>> {
        let deadline = Instant::now() + wait;
        if queues.is_empty() || max == 0 {
            tokio::time::sleep(wait).await;
            return Ok(Vec::new());
        }
        self.ensure_groups(queues).await?;
        let mut regrouped = false;
        loop {
            // Claimed before the script runs, so concurrent first fetches re-read only once.
            let reread = self
                .started
                .lock()
                .expect("lock")
                .insert(consumer.to_string());
            // Armed before the script reads the next due time: a delayed write after it wakes us.
            let delayed = self.delayed.notified();
            tokio::pin!(delayed);
            delayed.as_mut().enable();
            let sweep = reread || self.sweep_due();
            if sweep && self.cluster() {
                for queue in queues {
                    if let Err(e) = self.sweep_outbox(queue).await {
                        tracing::warn!("{e}");
                    }
                }
            }
            let found = match self
                .fetch_queues(consumer, queues, max, lease, reread, sweep)
                .await
            {
                Err(e) if is_nogroup(&e) && !regrouped => {
                    regrouped = true;
                    self.forget_groups(queues);
                    self.ensure_groups(queues).await?;
                    continue;
                }
                other => other.map_err(|e| redis_error("fetch", e))?,
            };
            if !found.deliveries.is_empty() {
                return Ok(found.deliveries);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let mut block = (deadline - now).min(MAX_BLOCK);
            for ms in [found.next_due, found.next_expiry] {
                if ms >= 0 {
                    block = block.min(Duration::from_millis(ms as u64));
                }
            }
            tokio::select! {
                read = self.wait_for_new(queues, &found.last_ids, block.max(Duration::from_millis(1))) => {
                    read.map_err(|e| redis_error("wait for tasks", e))?;
                }
                _ = delayed => {}
            }
        }
    }

    /// True once every [`SWEEP_EVERY`] per store.
    fn sweep_due(&self) -> bool {
        let mut last = self.last_sweep.lock().expect("lock");
        if last.elapsed() >= SWEEP_EVERY {
            *last = Instant::now();
            return true;
        }
        false
    }

    /// The fetch script over `queues`: one call, or on a cluster one per queue in order.
    async fn fetch_queues(
        &self,
        consumer: &str,
        queues: &[String],
        max: usize,
        lease: Duration,
        reread: bool,
        sweep: bool,
    ) -> RedisResult<Found> {
        if !self.cluster() || queues.len() == 1 {
            return self
                .fetch_script(consumer, queues, max, lease, reread, sweep)
                .await;
        }
        let mut all = Found {
            next_due: -1,
            next_expiry: -1,
            deliveries: Vec::new(),
            last_ids: Vec::new(),
        };
        let soonest = |a: i64, b: i64| if a < 0 || (b >= 0 && b < a) { b } else { a };
        for i in 0..queues.len() {
            let left = max - all.deliveries.len();
            if left == 0 {
                break;
            }
            let one = &queues[i..=i];
            let found = match self
                .fetch_script(consumer, one, left, lease, reread, sweep)
                .await
            {
                Ok(found) => found,
                // Leases already taken from earlier queues are handed out, not left to expire.
                Err(e) if !all.deliveries.is_empty() => {
                    tracing::warn!("redis: fetch from queue {:?}: {e}", queues[i]);
                    break;
                }
                Err(e) => return Err(e),
            };
            all.next_due = soonest(all.next_due, found.next_due);
            all.next_expiry = soonest(all.next_expiry, found.next_expiry);
            all.deliveries.extend(found.deliveries);
            all.last_ids.extend(found.last_ids);
        }
        if !all.deliveries.is_empty() {
            all.last_ids.clear();
        }
        Ok(all)
    }

    /// Blocks up to `block` until an entry past the group's last-delivered id arrives on any of
    /// the streams of `queues` (on a cluster: one read per queue, the first answer ends all).
    async fn wait_for_new(
        &self,
        queues: &[String],
        last_ids: &[String],
        block: Duration,
    ) -> RedisResult<()> {
        if self.cluster() && queues.len() > 1 {
            let per = usize::from(super::keys::BANDS) + 1;
            let reads = queues.iter().enumerate().map(|(i, queue)| {
                let ids = last_ids.get(i * per..(i + 1) * per).unwrap_or_default();
                Box::pin(self.wait_for_new(std::slice::from_ref(queue), ids, block))
            });
            return futures_util::future::select_all(reads).await.0;
        }
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(millis(block))
            .arg("STREAMS");
        for queue in queues {
            cmd.arg(self.keys.streams_high_first(queue))
                .arg(self.keys.wake(queue));
        }
        cmd.arg(last_ids);
        self.blocking
            .run::<redis::Value>(&cmd, block)
            .await
            .map(drop)
    }

    /// Creates the band streams and the consumer group of queues not yet seen by this store.
    async fn ensure_groups(&self, queues: &[String]) -> Result<()> {
        let missing: Vec<String> = {
            let grouped = self.grouped.lock().expect("lock");
            queues
                .iter()
                .filter(|q| !grouped.contains(*q))
                .cloned()
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        if self.cluster() {
            self.ensure_groups_slotted(&missing).await?;
            self.grouped.lock().expect("lock").extend(missing);
            return Ok(());
        }
        let mut call = scripts::ENSURE_GROUPS.prepare_invoke();
        for queue in &missing {
            for key in self.keys.streams_high_first(queue) {
                call.key(key);
            }
        }
        call.arg(self.keys.group());
        call.invoke_async::<i64>(&mut self.conn())
            .await
            .map_err(|e| redis_error("creating consumer groups", e))?;
        self.grouped.lock().expect("lock").extend(missing);
        Ok(())
    }

    fn forget_groups(&self, queues: &[String]) {
        let mut grouped = self.grouped.lock().expect("lock");
        for queue in queues {
            grouped.remove(queue);
        }
    }

    async fn fetch_script(
        &self,
        consumer: &str,
        queues: &[String],
        max: usize,
        lease: Duration,
        reread: bool,
        sweep: bool,
    ) -> RedisResult<Found> {
        let mut call = scripts::FETCH.prepare_invoke();
        for queue in queues {
            call.key(self.keys.delayed(queue))
                .key(self.keys.fair_state(queue))
                .key(self.keys.wake(queue));
            for band in (0..super::keys::BANDS).rev() {
                call.key(self.keys.stream(queue, band))
                    .key(self.keys.leases(queue, band))
                    .key(self.keys.fair(queue, band));
            }
        }
        call.arg(self.keys.group())
            .arg(consumer)
            .arg(max)
            .arg(millis(lease))
            .arg(u8::from(reread))
            .arg(u8::from(sweep))
            .arg(queues.len());
        let (next_due, next_expiry, entries, last_ids, generation): (
            i64,
            i64,
            Vec<ScriptEntry>,
            Vec<String>,
            u64,
        ) = call.invoke_async(&mut self.conn()).await?;
        let deliveries = entries
            .into_iter()
            .map(|(q, band, id, deliveries, fields)| {
                let pairs: Vec<(&[u8], Option<&[u8]>)> = fields
                    .chunks(2)
                    .map(|kv| (kv[0].as_slice(), kv.get(1).map(Vec::as_slice)))
                    .collect();
                let payload = payload(&pairs);
                let receipt = Receipt {
                    band,
                    id,
                    deliveries,
                    consumer: consumer.to_string(),
                };
                Delivery {
                    receipt: receipt.encode(),
                    queue: queues[q - 1].clone(),
                    deliveries,
                    generation,
                    payload,
                }
            })
            .collect();
        Ok(Found {
            next_due,
            next_expiry,
            deliveries,
            last_ids,
        })
    }
}

/// The payload of a stream entry: the envelope in field `e`, or why there is none.
fn payload(fields: &[(&[u8], Option<&[u8]>)]) -> Payload {
    let field = fields
        .iter()
        .find(|(k, _)| *k == b"e")
        .and_then(|(_, v)| *v);
    match field {
        Some(bytes) => codec::decode_payload_bytes(bytes),
        None => Payload::Malformed {
            raw: describe_fields(fields),
            reason: "malformed stream entry: no `e` field holding a task envelope".to_string(),
        },
    }
}

/// A stream entry's fields as `k=v` pairs, for the raw text of a malformed delivery.
fn describe_fields(fields: &[(&[u8], Option<&[u8]>)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                String::from_utf8_lossy(k),
                String::from_utf8_lossy(v.unwrap_or_default())
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}
