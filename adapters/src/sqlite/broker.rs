//! The SQLite `Broker` and `BrokerAdmin`: each call hands its blocking step (in `lease`,
//! `commit` and `dlq`) to the connection thread; fetch waits through [`SqliteStore::poll`].

use super::{clock, commit, dlq, lease, ms, SqliteStore};
use crate::{
    Broker, BrokerAdmin, Commit, DeadLetter, Delivery, Held, Peeked, QueueCounts, Result, Verdict,
};
use async_trait::async_trait;
use std::time::Duration;
use stem_protocol::TaskEnvelope;

#[async_trait]
impl Broker for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn publish(&self, tasks: &[TaskEnvelope]) -> Result<()> {
        if tasks.is_empty() {
            return Ok(());
        }
        let tasks = tasks.to_vec();
        self.write(move |conn, ns| lease::publish(conn, ns, &tasks))
            .await
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
        let queues = queues.to_vec();
        let consumer = consumer.to_string();
        let lease_ms = ms(lease);
        let got = self
            .poll(wait, move |conn, ns| {
                lease::fetch(conn, ns, &queues, max, lease_ms, &consumer)
            })
            .await?;
        Ok(got.unwrap_or_default())
    }

    async fn extend(&self, deliveries: &[Delivery], lease: Duration) -> Result<Vec<String>> {
        let deliveries = deliveries.to_vec();
        let lease_ms = ms(lease);
        self.run(move |conn, _| lease::extend(conn, &deliveries, lease_ms))
            .await
    }

    async fn commit(&self, commits: &[Commit], records: Option<Duration>) -> Result<Vec<Verdict>> {
        if commits.is_empty() {
            return Ok(Vec::new());
        }
        let commits = commits.to_vec();
        let keep = records.map(ms);
        let verdicts = self
            .write(move |conn, ns| commit::commit(conn, ns, &commits, keep))
            .await?;
        if records.is_some() {
            self.maybe_cleanup().await;
        }
        Ok(verdicts)
    }

    async fn ping(&self) -> Result<()> {
        self.run(|conn, _| {
            conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
        .await
    }

    async fn store_time(&self) -> Result<Option<i64>> {
        self.run(|conn, _| clock::now(conn).map(Some)).await
    }
}

#[async_trait]
impl BrokerAdmin for SqliteStore {
    async fn find_task(&self, id: &str) -> Result<Option<String>> {
        let id = id.to_string();
        self.run(move |conn, ns| {
            use rusqlite::OptionalExtension;
            Ok(conn
                .prepare_cached(
                    "SELECT queue FROM stem_tasks WHERE ns = ?1 AND \
                     CASE WHEN json_valid(payload) THEN json_extract(payload, '$.id') END = ?2 \
                     LIMIT 1",
                )?
                .query_row(rusqlite::params![ns, id], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn dead_letters(&self, queue: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        let queue = queue.to_string();
        self.run(move |conn, ns| dlq::list(conn, ns, &queue, limit))
            .await
    }

    async fn replay_dead_letter(
        &self,
        queue: &str,
        id: &str,
        envelope: &TaskEnvelope,
    ) -> Result<bool> {
        let (queue, id, envelope) = (queue.to_string(), id.to_string(), envelope.clone());
        self.write(move |conn, ns| dlq::replay(conn, ns, &queue, &id, &envelope))
            .await
    }

    async fn purge_dead_letters(&self, queue: &str) -> Result<u64> {
        let queue = queue.to_string();
        self.write(move |conn, ns| dlq::purge(conn, ns, &queue))
            .await
    }

    async fn counts(&self, queue: &str) -> Result<QueueCounts> {
        let queue = queue.to_string();
        self.run(move |conn, ns| dlq::counts(conn, ns, &queue))
            .await
    }

    async fn queues(&self) -> Result<Vec<String>> {
        self.run(dlq::queues).await
    }

    async fn peek(&self, queue: &str, state: Held, limit: usize) -> Result<Vec<Peeked>> {
        let queue = queue.to_string();
        self.run(move |conn, ns| dlq::peek(conn, ns, &queue, state, limit))
            .await
    }
}
