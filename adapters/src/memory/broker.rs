//! The in-memory `Broker` and `BrokerAdmin`: leases are entries in the queue's lease map, keyed
//! by a receipt that is never reused, so a lapsed receipt simply finds nothing to commit or
//! extend. A commit is applied under the store's one lock, so it is atomic with its record.

use super::backend::put_record;
use super::queue::{Item, Lease};
use super::state::State;
use super::MemoryStore;
use crate::{
    Action, Broker, BrokerAdmin, Commit, DeadLetter, Delivery, Held, Payload, Peeked, QueueCounts,
    Result, Verdict,
};
use async_trait::async_trait;
use std::time::Duration;
use stem_protocol::TaskEnvelope;

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

fn publish_one(state: &mut State, env: &TaskEnvelope, visible_at: i64, now: i64) {
    let seq = state.next_seq();
    let queue = state.queue(&env.queue);
    let vt = queue.next_vt(env);
    let item = Item {
        seq,
        vt,
        env: env.clone(),
        deliveries: 0,
    };
    queue.put(item, visible_at, now);
}

/// Puts a released task back, keeping its virtual start (its turn) unless it was replaced
/// with another key.
fn republish(state: &mut State, lease_item: &Item, env: &TaskEnvelope, visible_at: i64, now: i64) {
    if env.fair_key.is_none() || env.fair_key != lease_item.env.fair_key {
        return publish_one(state, env, visible_at, now);
    }
    let seq = state.next_seq();
    let item = Item {
        seq,
        vt: lease_item.vt,
        env: env.clone(),
        deliveries: 0,
    };
    state.queue(&env.queue).put(item, visible_at, now);
}

fn lease_batch(
    state: &mut State,
    consumer: &str,
    queues: &[String],
    max: usize,
    lease: Duration,
    now: i64,
) -> (Vec<Delivery>, Option<i64>) {
    let mut out = Vec::new();
    let mut wake: Option<i64> = None;
    // Receipts come from the same counter as publish order, so none is ever reused.
    let mut counter = state.next_seq;
    let generation = state.next_generation();
    for name in queues {
        let Some(queue) = state.queues.get_mut(name) else {
            continue;
        };
        queue.promote(now);
        while out.len() < max {
            let Some(mut item) = queue.pop_ready() else {
                break;
            };
            item.deliveries += 1;
            counter += 1;
            let receipt = format!("r{counter}");
            out.push(Delivery {
                receipt: receipt.clone(),
                queue: name.clone(),
                deliveries: item.deliveries,
                generation,
                payload: Payload::Task(Box::new(item.env.clone())),
            });
            let until = now + ms(lease);
            let owner = consumer.to_string();
            queue.leased.insert(receipt, Lease { item, until, owner });
        }
        if let Some(at) = queue.next_wake() {
            wake = Some(wake.map_or(at, |w| w.min(at)));
        }
    }
    state.next_seq = counter;
    (out, wake)
}

/// Applies one commit if its lease is still held.
fn apply(state: &mut State, c: &Commit, records: Option<Duration>, now: i64) -> Verdict {
    let d = &c.delivery;
    let Some(queue) = state.queues.get_mut(&d.queue) else {
        return Verdict::Stale { owner: None };
    };
    let Some(lease) = queue.leased.remove(&d.receipt) else {
        let owner = queue
            .leased
            .values()
            .find(|l| Some(&l.item.env.id) == d.task().map(|t| &t.id))
            .map(|l| l.owner.clone());
        return Verdict::Stale { owner };
    };
    match &c.action {
        Action::Ack => {}
        Action::Release { replacement, delay } => {
            let env = replacement.as_deref().unwrap_or(&lease.item.env).clone();
            republish(state, &lease.item, &env, now + ms(*delay), now);
        }
        Action::DeadLetter(letter) => {
            let mut letter = (**letter).clone();
            letter.queue = d.queue.clone();
            queue.dead.push_back(letter);
        }
    }
    for env in &c.follow_ups {
        publish_one(state, env, env.eta.unwrap_or(now), now);
    }
    if let (Some(ttl), Some(record)) = (records, &c.record) {
        put_record(state, record, ttl, now);
    }
    Verdict::Applied
}

#[async_trait]
impl Broker for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn publish(&self, tasks: &[TaskEnvelope]) -> Result<()> {
        self.change(|state, now| {
            for env in tasks {
                publish_one(state, env, env.eta.unwrap_or(now), now);
            }
        });
        Ok(())
    }

    async fn fetch(
        &self,
        consumer: &str,
        queues: &[String],
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let got = self
            .wait_for(wait, |state, now| {
                let (batch, wake) = lease_batch(state, consumer, queues, max, lease, now);
                ((!batch.is_empty()).then_some(batch), wake)
            })
            .await;
        Ok(got.unwrap_or_default())
    }

    async fn commit(&self, commits: &[Commit], records: Option<Duration>) -> Result<Vec<Verdict>> {
        Ok(self.change(|state, now| {
            commits
                .iter()
                .map(|c| apply(state, c, records, now))
                .collect()
        }))
    }

    async fn extend(&self, deliveries: &[Delivery], lease: Duration) -> Result<Vec<String>> {
        let lost = self.change(|state, now| {
            let mut lost = Vec::new();
            for d in deliveries {
                let held = state
                    .queues
                    .get_mut(&d.queue)
                    .and_then(|q| q.leased.get_mut(&d.receipt));
                match held {
                    Some(held) => held.until = now + ms(lease),
                    None => lost.push(d.receipt.clone()),
                }
            }
            lost
        });
        Ok(lost)
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl BrokerAdmin for MemoryStore {
    async fn peek(&self, queue: &str, state: Held, limit: usize) -> Result<Vec<Peeked>> {
        let now = stem_protocol::now_ms();
        Ok(self
            .lock()
            .queues
            .get(queue)
            .map(|q| q.peek(state, now, limit))
            .unwrap_or_default())
    }

    async fn find_task(&self, id: &str) -> Result<Option<String>> {
        let state = self.lock();
        Ok(state
            .queues
            .iter()
            .find(|(_, q)| q.holds(id))
            .map(|(name, _)| name.clone()))
    }

    async fn dead_letters(&self, queue: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        let state = self.lock();
        Ok(state
            .queues
            .get(queue)
            .map(|q| q.dead.iter().take(limit).cloned().collect())
            .unwrap_or_default())
    }

    async fn replay_dead_letter(
        &self,
        queue: &str,
        id: &str,
        envelope: &TaskEnvelope,
    ) -> Result<bool> {
        Ok(self.change(|state, now| {
            let Some(q) = state.queues.get_mut(queue) else {
                return false;
            };
            let Some(at) = q.dead.iter().position(|l| l.id == id) else {
                return false;
            };
            q.dead.remove(at);
            publish_one(state, envelope, envelope.eta.unwrap_or(now), now);
            true
        }))
    }

    async fn purge_dead_letters(&self, queue: &str) -> Result<u64> {
        Ok(self.change(|state, _| {
            state
                .queues
                .get_mut(queue)
                .map(|q| q.dead.drain(..).count() as u64)
                .unwrap_or(0)
        }))
    }

    async fn counts(&self, queue: &str) -> Result<QueueCounts> {
        let now = stem_protocol::now_ms();
        let state = self.lock();
        Ok(state
            .queues
            .get(queue)
            .map(|q| q.counts(now))
            .unwrap_or_default())
    }

    async fn queues(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.lock().queues.keys().cloned().collect();
        names.sort();
        Ok(names)
    }
}
