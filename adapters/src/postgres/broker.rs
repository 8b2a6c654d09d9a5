//! The `Broker` and `BrokerAdmin` on Postgres: publish with one UNNEST insert, fetch with one
//! `FOR UPDATE SKIP LOCKED` CTE that takes the lease in the same statement, extend and commit
//! (see [`super::commit`]) in one statement per batch. A receipt is `ROW_ID:LEASE_TOKEN`; a
//! statement only touches a row whose token still matches, so a stale owner's commit or extend
//! changes nothing. Idle fetches sleep on the
//! listener's task wake-up, capped by the next eta or lease expiry of their queues.

use super::error::corrupt;
use super::{millis, PgStore};
use crate::{
    codec, Broker, BrokerAdmin, Commit, DeadLetter, Delivery, Held, Peeked, QueueCounts, Result,
    Verdict,
};
use async_trait::async_trait;
use std::time::Duration;
use stem_protocol::envelope::MAX_FAIR_WEIGHT;
use stem_protocol::TaskEnvelope;
use tokio::time::Instant;

/// Splits a receipt into (row id, lease token).
pub(super) fn parse_receipt(receipt: &str) -> Result<(i64, &str)> {
    receipt
        .split_once(':')
        .and_then(|(id, token)| Some((id.parse().ok()?, token)))
        .ok_or_else(|| corrupt("receipt", format!("{receipt:?} is not a postgres receipt")))
}

/// The columns a task row stores for an envelope: (eta, priority, payload). The statements
/// make a task ready at the later of its eta and now on the server's clock.
pub(super) fn row_fields(env: &TaskEnvelope) -> (Option<i64>, i16, String) {
    (
        env.eta,
        i16::from(env.priority),
        codec::encode_envelope(env),
    )
}

impl PgStore {
    async fn try_fetch(
        &self,
        consumer: &str,
        queues: &[String],
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Delivery>> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let lease_ms = millis(lease);
        let rows = self
            .query(
                "fetch",
                include_str!("sql/fetch.sql"),
                &[&queues, &limit, &consumer, &token, &lease_ms],
            )
            .await?;
        type Order = (std::cmp::Reverse<i16>, i64, i64, i64);
        let mut picked: Vec<(Order, Delivery)> = rows
            .into_iter()
            .map(|row| {
                let id: i64 = row.get("id");
                let raw: String = row.get("payload");
                let payload = codec::decode_payload(raw);
                let delivery = Delivery {
                    receipt: format!("{id}:{token}"),
                    queue: row.get("queue"),
                    deliveries: u32::try_from(row.get::<_, i32>("deliveries")).unwrap_or(0),
                    generation: u64::try_from(row.get::<_, i64>("generation")).unwrap_or(0),
                    payload,
                };
                let order = (
                    std::cmp::Reverse(row.get::<_, i16>("priority")),
                    row.get("fair_vt"),
                    row.get("eta"),
                    id,
                );
                (order, delivery)
            })
            .collect();
        // UPDATE ... RETURNING does not keep the CTE's order.
        picked.sort_by_key(|p| p.0);
        Ok(picked.into_iter().map(|p| p.1).collect())
    }

    /// When the fetch loop should look again if nothing wakes it.
    async fn next_check(&self, queues: &[String], deadline: Instant) -> Result<Instant> {
        let mut until = self.signals.sleep_until(deadline);
        let row = self
            .query("fetch", include_str!("sql/next_visible.sql"), &[&queues])
            .await?;
        if let Some(next) = row.first().and_then(|r| r.get::<_, Option<i64>>("next")) {
            // At least a few ms: rows locked by another fetch stay visible but skipped.
            let in_ms = next.max(5) as u64;
            until = until.min(Instant::now() + Duration::from_millis(in_ms));
        }
        Ok(until)
    }
}

/// A task's fairness key and step (1,000,000 / weight, the weight clamped to 1..=100); the step
/// is 0 for an unkeyed task.
pub(super) fn fair_fields(env: &TaskEnvelope) -> (Option<&str>, i64) {
    match env.fair_key.as_deref() {
        Some(key) => {
            let weight = env.fair_weight.unwrap_or(1).clamp(1, MAX_FAIR_WEIGHT);
            (Some(key), 1_000_000 / i64::from(weight))
        }
        None => (None, 0),
    }
}

/// Publishes at least this large refresh the tasks table's planner statistics.
const ANALYZE_AFTER_BATCH: usize = 500;

#[async_trait]
impl Broker for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn publish(&self, tasks: &[TaskEnvelope]) -> Result<()> {
        if tasks.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(tasks.len());
        let mut queues = Vec::with_capacity(tasks.len());
        let mut priorities = Vec::with_capacity(tasks.len());
        let mut etas = Vec::with_capacity(tasks.len());
        let mut payloads = Vec::with_capacity(tasks.len());
        let mut created = Vec::with_capacity(tasks.len());
        for env in tasks {
            let (eta, priority, payload) = row_fields(env);
            ids.push(env.id.as_str());
            queues.push(env.queue.as_str());
            priorities.push(priority);
            etas.push(eta);
            payloads.push(payload);
            created.push(env.created_at);
        }
        if tasks.iter().any(|t| t.fair_key.is_some()) {
            let (keys, steps): (Vec<_>, Vec<_>) = tasks.iter().map(fair_fields).unzip();
            self.execute(
                "publish",
                include_str!("sql/publish_fair.sql"),
                &[
                    &ids,
                    &queues,
                    &priorities,
                    &etas,
                    &payloads,
                    &created,
                    &keys,
                    &steps,
                ],
            )
            .await?;
        } else {
            // Unkeyed batches run the statement they ran before fairness existed.
            self.execute(
                "publish",
                include_str!("sql/publish.sql"),
                &[&ids, &queues, &priorities, &etas, &payloads, &created],
            )
            .await?;
        }
        if tasks.len() >= ANALYZE_AFTER_BATCH {
            // A burst can grow the table far past what the planner's statistics (refreshed by
            // autovacuum only every minute or so) say; with stale ones the fetch plan sorts the
            // whole backlog on every fetch instead of walking the fetch index.
            self.execute("analyze", "ANALYZE tasks", &[]).await?;
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
        if max == 0 || queues.is_empty() {
            return Ok(Vec::new());
        }
        let deadline = Instant::now() + wait;
        let stop = self.signals.stop_fetch.notified();
        tokio::pin!(stop);
        stop.as_mut().enable();
        loop {
            // Registered before looking, so a publish between the look and the sleep wakes us.
            let notified = self.signals.tasks.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let found = self.try_fetch(consumer, queues, max, lease).await?;
            if !found.is_empty() || Instant::now() >= deadline {
                return Ok(found);
            }
            let until = self.next_check(queues, deadline).await?;
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(until) => {}
                // Nothing was leased by the last look: returning empty loses nothing.
                _ = &mut stop => return Ok(Vec::new()),
            }
        }
    }

    fn interrupt_fetches(&self) {
        self.signals.stop_fetch.notify_waiters();
    }

    async fn extend(&self, deliveries: &[Delivery], lease: Duration) -> Result<Vec<String>> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, tokens) = receipts(deliveries)?;
        let lease_ms = millis(lease);
        let rows = self
            .query(
                "extend",
                include_str!("sql/extend.sql"),
                &[&ids, &tokens, &lease_ms],
            )
            .await?;
        let held: std::collections::HashSet<i64> = rows.iter().map(|r| r.get("id")).collect();
        Ok(deliveries
            .iter()
            .zip(&ids)
            .filter(|(_, id)| !held.contains(id))
            .map(|(d, _)| d.receipt.clone())
            .collect())
    }

    async fn commit(&self, commits: &[Commit], records: Option<Duration>) -> Result<Vec<Verdict>> {
        self.commit_batch(commits, records).await
    }

    async fn ping(&self) -> Result<()> {
        self.ping_db().await
    }

    async fn store_time(&self) -> Result<Option<i64>> {
        let rows = self
            .query(
                "clock",
                "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now",
                &[],
            )
            .await?;
        Ok(rows.first().map(|r| r.get("now")))
    }
}

#[async_trait]
impl BrokerAdmin for PgStore {
    async fn find_task(&self, id: &str) -> Result<Option<String>> {
        let rows = self
            .query(
                "find task",
                "SELECT queue FROM tasks WHERE task_id = $1 LIMIT 1",
                &[&id],
            )
            .await?;
        Ok(rows.first().map(|r| r.get("queue")))
    }

    async fn dead_letters(&self, queue: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        self.list_dead(queue, limit).await
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
        self.execute(
            "purge dead letters",
            include_str!("sql/purge_dead_letters.sql"),
            &[&queue],
        )
        .await
    }

    async fn counts(&self, queue: &str) -> Result<QueueCounts> {
        let rows = self
            .query("counts", include_str!("sql/counts.sql"), &[&queue])
            .await?;
        let row = rows.first().ok_or_else(|| corrupt("counts", "no row"))?;
        let get = |name: &str| u64::try_from(row.get::<_, i64>(name)).unwrap_or(0);
        Ok(QueueCounts {
            ready: get("ready"),
            delayed: get("delayed"),
            leased: get("leased"),
            dead: get("dead"),
        })
    }

    async fn queues(&self) -> Result<Vec<String>> {
        let rows = self
            .query("queues", include_str!("sql/queues.sql"), &[])
            .await?;
        Ok(rows.iter().map(|r| r.get("name")).collect())
    }

    async fn peek(&self, queue: &str, state: Held, limit: usize) -> Result<Vec<Peeked>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query(
                "peek",
                include_str!("sql/peek.sql"),
                &[&queue, &state.as_str(), &limit],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| Peeked {
                payload: codec::decode_payload(row.get("payload")),
                at: (state != Held::Waiting).then(|| row.get("visible_at")),
                owner: row
                    .get::<_, Option<String>>("lease_owner")
                    .filter(|_| state == Held::Leased),
                deliveries: u32::try_from(row.get::<_, i32>("deliveries")).unwrap_or(0),
            })
            .collect())
    }
}

pub(super) fn receipts(deliveries: &[Delivery]) -> Result<(Vec<i64>, Vec<&str>)> {
    let mut ids = Vec::with_capacity(deliveries.len());
    let mut tokens = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        let (id, token) = parse_receipt(&d.receipt)?;
        ids.push(id);
        tokens.push(token);
    }
    Ok((ids, tokens))
}
