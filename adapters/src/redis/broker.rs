//! `Broker` and `BrokerAdmin` for Redis: publish in one pipeline, leased fetch (see
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

/// Where an envelope goes: its band stream when ready, its queue's delayed set when not.
pub(super) struct Placement {
    pub key: String,
    /// `ready` or `delayed`, as the scripts expect.
    pub mode: &'static str,
    /// The stream field value or the delayed-set member.
    pub payload: String,
    pub due: i64,
}

impl RedisStore {
    /// Places `env`, ready at `due` (epoch ms) when that is in the future.
    pub(super) fn placement(&self, env: &TaskEnvelope, due: Option<i64>) -> Placement {
        let json = codec::encode_envelope(env);
        match due.filter(|&due| due > now_ms()) {
            Some(due) => Placement {
                key: self.keys.delayed(&env.queue),
                mode: "delayed",
                payload: delayed_member(env.priority, &json),
                due,
            },
            None => Placement {
                key: self.keys.stream(&env.queue, env.priority.min(MAX_PRIORITY)),
                mode: "ready",
                payload: json,
                due: 0,
            },
        }
    }

    /// Adds the publish of `env` (to its stream, or its delayed set) to `pipe`.
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
