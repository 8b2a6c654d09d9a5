//! `Broker` and `BrokerAdmin` for Redis: publish in one pipeline (one script when a task has a
//! fair key, which needs its vt assigned atomically), leased fetch (see
//! [`super::fetch`]), extend and commit (see [`super::commit`]), each one script call for the
//! whole batch; dead letters in [`super::dead_letters`]. On a Redis Cluster publish and extend
//! are split per queue ([`super::slotted`]).

use super::keys::delayed_member;
use super::receipt::Receipt;
use super::{millis, redis_error, scripts, RedisStore};
use crate::{
    codec, Broker, BrokerAdmin, Commit, DeadLetter, Delivery, Held, Peeked, QueueCounts, Result,
    Verdict,
};
use async_trait::async_trait;
use std::time::Duration;
use stem_protocol::envelope::MAX_PRIORITY;
use stem_protocol::{now_ms, TaskEnvelope};

/// Where an envelope goes: its band stream when ready, its queue's delayed set when not; with a
/// fair key, its band's fair zset when ready (see `lua/place.lua`).
pub(super) struct Placement {
    pub key: String,
    /// `ready`, `delayed`, `fair` or `fair_delayed`, as the scripts expect.
    pub mode: &'static str,
    /// The stream field value or the delayed-set member (for the fair modes the envelope: the
    /// script builds the member).
    pub payload: String,
    pub due: i64,
    /// The queue the task goes to.
    pub queue: String,
    pub fair: Option<FairPlace>,
}

/// What a keyed placement adds: where its queue's fairness state is, and its key and step.
pub(super) struct FairPlace {
    pub state: String,
    pub wake: String,
    pub key: String,
    /// `1_000_000 / weight`.
    pub step: u32,
    pub band: u8,
    /// A release keeping the vt of the entry it replaces (same queue only).
    pub keep: bool,
}

impl Placement {
    /// The placement's keys and arguments, in the order `read_place` of `lua/place.lua` reads
    /// them.
    pub(super) fn add_to(&self, call: &mut redis::ScriptInvocation<'_>) {
        call.key(&self.key)
            .arg(self.mode)
            .arg(&self.payload)
            .arg(self.due)
            .arg(&self.queue);
        if let Some(f) = &self.fair {
            call.key(&f.state)
                .key(&f.wake)
                .arg(&f.key)
                .arg(f.step)
                .arg(f.band)
                .arg(if f.keep { "1" } else { "0" });
        }
    }
}

impl RedisStore {
    /// Places `env`, ready at `due` (epoch ms) when that is in the future.
    pub(super) fn placement(&self, env: &TaskEnvelope, due: Option<i64>) -> Placement {
        let json = codec::encode_envelope(env);
        let band = env.priority.min(MAX_PRIORITY);
        let due = due.filter(|&due| due > now_ms());
        let queue = env.queue.clone();
        if let Some(key) = &env.fair_key {
            let fair = FairPlace {
                state: self.keys.fair_state(&env.queue),
                wake: self.keys.wake(&env.queue),
                key: key.clone(),
                step: 1_000_000 / env.fair_weight.unwrap_or(1).max(1),
                band,
                keep: false,
            };
            let (key, mode, due) = match due {
                Some(due) => (self.keys.delayed(&env.queue), "fair_delayed", due),
                None => (self.keys.fair(&env.queue, band), "fair", 0),
            };
            return Placement {
                key,
                mode,
                payload: json,
                due,
                queue,
                fair: Some(fair),
            };
        }
        match due {
            Some(due) => Placement {
                key: self.keys.delayed(&env.queue),
                mode: "delayed",
                payload: delayed_member(env.priority, &json),
                due,
                queue,
                fair: None,
            },
            None => Placement {
                key: self.keys.stream(&env.queue, band),
                mode: "ready",
                payload: json,
                due: 0,
                queue,
                fair: None,
            },
        }
    }

    /// One publish script call for `tasks` (some with a fair key; on a cluster all of one
    /// queue, whose queues-set entry the caller made).
    pub(super) async fn publish_script(&self, tasks: &[&TaskEnvelope]) -> Result<()> {
        let mut call = scripts::PUBLISH.prepare_invoke();
        match self.cluster() {
            true => call.key(self.keys.fair_state(&tasks[0].queue)).arg("0"),
            false => call.key(self.keys.queues()).arg("1"),
        };
        call.arg(tasks.len());
        for env in tasks {
            self.placement(env, env.eta).add_to(&mut call);
        }
        call.invoke_async::<i64>(&mut self.conn())
            .await
            .map(drop)
            .map_err(|e| redis_error("publish", e))
    }

    /// Adds the publish of `env` (unkeyed: to its stream, or its delayed set) to `pipe`.
    pub(super) fn add_publish(&self, pipe: &mut redis::Pipeline, env: &TaskEnvelope) {
        let place = self.placement(env, env.eta);
        if place.mode == "delayed" {
            pipe.zadd(&place.key, &place.payload, place.due).ignore();
        } else {
            pipe.cmd("XADD")
                .arg(&place.key)
                .arg("*")
                .arg("e")
                .arg(&place.payload)
                .ignore();
        }
    }

    /// One extend call for `deliveries` (all in one slot on a cluster): the lost receipts.
    pub(super) async fn extend_one(
        &self,
        deliveries: &[Delivery],
        lease: Duration,
    ) -> Result<Vec<String>> {
        let (keys, args) = self.receipt_args(deliveries)?;
        let mut call = scripts::EXTEND.prepare_invoke();
        call.key(keys)
            .arg(self.keys.group())
            .arg(millis(lease))
            .arg(args);
        let lost: Vec<usize> = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("extend", e))?;
        Ok(lost
            .into_iter()
            .filter_map(|i| deliveries.get(i.wrapping_sub(1)))
            .map(|d| d.receipt.clone())
            .collect())
    }

    /// Script call parts for a batch of receipts: stream and lease keys, and
    /// `id consumer count`, each.
    fn receipt_args(&self, deliveries: &[Delivery]) -> Result<(Vec<String>, Vec<String>)> {
        let mut keys = Vec::with_capacity(deliveries.len() * 2);
        let mut args = Vec::with_capacity(deliveries.len() * 3);
        for d in deliveries {
            let r = Receipt::parse(&d.receipt)?;
            keys.push(self.keys.stream(&d.queue, r.band));
            keys.push(self.keys.leases(&d.queue, r.band));
            args.extend([r.id, r.consumer, r.deliveries.to_string()]);
        }
        Ok((keys, args))
    }
}

#[async_trait]
impl Broker for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn publish(&self, tasks: &[TaskEnvelope]) -> Result<()> {
        if tasks.is_empty() {
            return Ok(());
        }
        if self.cluster() {
            self.publish_slotted(tasks).await?;
        } else if tasks.iter().any(|t| t.fair_key.is_some()) {
            let all: Vec<&TaskEnvelope> = tasks.iter().collect();
            self.publish_script(&all).await?;
        } else {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for env in tasks {
                self.add_publish(&mut pipe, env);
            }
            let mut queues: Vec<&str> = tasks.iter().map(|t| t.queue.as_str()).collect();
            queues.sort_unstable();
            queues.dedup();
            pipe.sadd(self.keys.queues(), queues).ignore();
            pipe.exec_async(&mut self.conn())
                .await
                .map_err(|e| redis_error("publish", e))?;
        }
        if tasks.iter().any(|t| t.eta.is_some()) {
            self.delayed.notify_waiters();
        }
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
        self.fetch_leased(consumer, queues, max, lease, wait).await
    }

    async fn extend(&self, deliveries: &[Delivery], lease: Duration) -> Result<Vec<String>> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        if self.cluster() {
            return self.extend_slotted(deliveries, lease).await;
        }
        self.extend_one(deliveries, lease).await
    }

    async fn commit(&self, commits: &[Commit], records: Option<Duration>) -> Result<Vec<Verdict>> {
        self.commit_batch(commits, records).await
    }

    async fn ping(&self) -> Result<()> {
        self.ping_redis().await
    }

    async fn store_time(&self) -> Result<Option<i64>> {
        let (secs, micros): (i64, i64) = redis::cmd("TIME")
            .query_async(&mut self.conn())
            .await
            .map_err(|e| super::redis_error("TIME", e))?;
        Ok(Some(secs * 1000 + micros / 1000))
    }
}

#[async_trait]
impl BrokerAdmin for RedisStore {
    async fn find_task(&self, id: &str) -> Result<Option<String>> {
        super::find::find_task(self, id).await
    }

    async fn peek(&self, queue: &str, state: Held, limit: usize) -> Result<Vec<Peeked>> {
        super::peek::peek(self, queue, state, limit).await
    }

    async fn dead_letters(&self, queue: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        self.list_dead_letters(queue, limit).await
    }

    async fn replay_dead_letter(
        &self,
        queue: &str,
        id: &str,
        envelope: &TaskEnvelope,
    ) -> Result<bool> {
        self.replay(queue, id, envelope).await
    }

    async fn purge_dead_letters(&self, queue: &str) -> Result<u64> {
        self.purge(queue).await
    }

    async fn counts(&self, queue: &str) -> Result<QueueCounts> {
        let mut call = scripts::COUNTS.prepare_invoke();
        for band in 0..super::keys::BANDS {
            call.key(self.keys.stream(queue, band));
        }
        call.key(self.keys.delayed(queue))
            .key(self.keys.dlq(queue))
            .arg(self.keys.group());
        for band in 0..super::keys::BANDS {
            call.key(self.keys.fair(queue, band));
        }
        let (ready, delayed, leased, dead): (i64, u64, u64, u64) = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("counts", e))?;
        Ok(QueueCounts {
            ready: ready.max(0) as u64,
            delayed,
            leased,
            dead,
        })
    }

    async fn queues(&self) -> Result<Vec<String>> {
        let mut queues: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.queues())
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("queues", e))?;
        queues.sort();
        Ok(queues)
    }
}
