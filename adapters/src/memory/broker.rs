//! The in-memory `Broker`: leases are entries in the queue's lease map, keyed by a receipt that
//! is never reused, so a lapsed receipt simply finds nothing to ack, extend or release.

use super::queue::{Item, Lease};
use super::state::State;
use super::MemoryStore;
use crate::{Broker, DeadLetter, Delivery, Payload, QueueCounts, Result};
use async_trait::async_trait;
use std::time::Duration;
use stem_protocol::TaskEnvelope;

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

fn publish_one(state: &mut State, env: &TaskEnvelope, visible_at: i64, now: i64) {
    let seq = state.next_seq();
    let item = Item {
        seq,
        env: env.clone(),
        deliveries: 0,
    };
    state.queue(&env.queue).put(item, visible_at, now);
}

fn lease_batch(
    state: &mut State,
    queues: &[String],
    max: usize,
    lease: Duration,
    now: i64,
) -> (Vec<Delivery>, Option<i64>) {
    let mut out = Vec::new();
    let mut wake: Option<i64> = None;
    // Receipts come from the same counter as publish order, so none is ever reused.
    let mut counter = state.next_seq;
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
                payload: Payload::Task(item.env.clone()),
            });
            let until = now + ms(lease);
            queue.leased.insert(receipt, Lease { item, until });
        }
        if let Some(at) = queue.next_wake() {
            wake = Some(wake.map_or(at, |w| w.min(at)));
        }
    }
    state.next_seq = counter;
    (out, wake)
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
        _consumer: &str,
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
                let (batch, wake) = lease_batch(state, queues, max, lease, now);
                ((!batch.is_empty()).then_some(batch), wake)
            })
            .await;
        Ok(got.unwrap_or_default())
    }

    async fn ack(&self, deliveries: &[Delivery]) -> Result<()> {
        self.change(|state, _| {
            for d in deliveries {
                if let Some(queue) = state.queues.get_mut(&d.queue) {
                    queue.leased.remove(&d.receipt);
                }
            }
        });
        Ok(())
    }

    async fn release(
        &self,
        delivery: &Delivery,
        replacement: Option<&TaskEnvelope>,
        delay: Duration,
    ) -> Result<()> {
        self.change(|state, now| {
            let Some(queue) = state.queues.get_mut(&delivery.queue) else {
                return;
            };
            let Some(lease) = queue.leased.remove(&delivery.receipt) else {
                return;
            };
            let env = replacement.unwrap_or(&lease.item.env).clone();
            publish_one(state, &env, now + ms(delay), now);
        });
        Ok(())
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

    async fn dead_letter(&self, delivery: &Delivery, letter: &DeadLetter) -> Result<()> {
        self.change(|state, _| {
            let Some(queue) = state.queues.get_mut(&delivery.queue) else {
                return;
            };
            if queue.leased.remove(&delivery.receipt).is_some() {
                let mut letter = letter.clone();
                letter.queue = delivery.queue.clone();
                queue.dead.push_back(letter);
            }
        });
        Ok(())
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

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}
