//! The `ResultBackend` on Postgres: one row per task with the record as JSON and an expiry
//! (expired rows are invisible at once and deleted by the periodic clean-up). `wait` registers
//! for the task's notification (sent by a trigger on terminal writes), then reads the row, so a
//! result written between the two is never missed.

use super::{millis, PgStore};
use crate::wait::{self, Deadline, Look};
use crate::{codec, RecordFilter, Result, ResultBackend};
use async_trait::async_trait;
use std::collections::HashMap;
use std::time::Duration;
use stem_protocol::TaskRecord;
use tokio_postgres::types::ToSql;

/// The `set_results.sql` parameters for a batch of records.
struct ResultRows<'a> {
    ids: Vec<&'a str>,
    states: Vec<&'static str>,
    bodies: Vec<String>,
    updated: Vec<i64>,
    expiry: Vec<i64>,
    generation: Vec<i64>,
}

impl<'a> ResultRows<'a> {
    pub fn new(records: &'a [TaskRecord], ttl: Duration) -> Self {
        // ON CONFLICT cannot touch one row twice in a statement: keep each id's last record.
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            last.insert(r.id.as_str(), i);
        }
        let expires = millis(ttl);
        let mut rows = ResultRows {
            ids: Vec::new(),
            states: Vec::new(),
            bodies: Vec::new(),
            updated: Vec::new(),
            expiry: Vec::new(),
            generation: Vec::new(),
        };
        for (i, r) in records.iter().enumerate() {
            if last[r.id.as_str()] == i {
                rows.ids.push(r.id.as_str());
                rows.states.push(r.state.as_str());
                rows.bodies.push(codec::encode_record(r));
                rows.generation.push(r.generation as i64);
                rows.updated.push(r.updated_at);
                rows.expiry.push(expires);
            }
        }
        rows
    }

    pub fn params(&self) -> [&(dyn ToSql + Sync); 6] {
        [
            &self.ids,
            &self.states,
            &self.bodies,
            &self.updated,
            &self.expiry,
            &self.generation,
        ]
    }
}

#[async_trait]
impl ResultBackend for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn set(&self, records: &[TaskRecord], ttl: Duration) -> Result<Vec<bool>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let rows = ResultRows::new(records, ttl);
        let written: std::collections::HashSet<String> = self
            .query(
                "set results",
                include_str!("sql/set_results.sql"),
                &rows.params(),
            )
            .await?
            .iter()
            .map(|r| r.get("id"))
            .collect();
        Ok(records.iter().map(|r| written.contains(&r.id)).collect())
    }

    async fn get(&self, id: &str) -> Result<Option<TaskRecord>> {
        let rows = self
            .query("get result", include_str!("sql/get_result.sql"), &[&id])
            .await?;
        rows.first()
            .map(|row| codec::decode_record(id, row.get("record")))
            .transpose()
    }

    async fn group_join(
        &self,
        group: &str,
        index: u32,
        size: u32,
        result: &serde_json::Value,
        ttl: Duration,
    ) -> Result<bool> {
        self.join(group, index, size, result, ttl).await
    }

    async fn group_fail(&self, group: &str, index: u32, size: u32, ttl: Duration) -> Result<bool> {
        self.fail(group, index, size, ttl).await
    }

    async fn group_results(&self, group: &str) -> Result<Option<Vec<Option<serde_json::Value>>>> {
        self.results(group).await
    }

    async fn wait(&self, id: &str, timeout: Duration) -> Result<Option<TaskRecord>> {
        let waiter = self.signals.result_waiter(id);
        wait::on_notify(
            &waiter.notify,
            Deadline::after(timeout),
            |d| self.signals.sleep_until(d),
            move || async move {
                let record = self.get(id).await?;
                let done = record.as_ref().is_some_and(|r| r.state.is_terminal());
                Ok(if done {
                    Look::Done(record)
                } else {
                    Look::Again(record)
                })
            },
        )
        .await
    }

    async fn list(&self, filter: &RecordFilter) -> Result<Vec<TaskRecord>> {
        let state = filter.state.map(|s| s.as_str());
        let limit = filter.limit() as i64;
        let after_at = filter.after.as_ref().map(|c| c.updated_at);
        let after_id = filter.after.as_ref().map(|c| c.id.as_str());
        let rows = self
            .query(
                "list results",
                include_str!("sql/list_results.sql"),
                &[
                    &state,
                    &filter.name,
                    &filter.queue,
                    &filter.since,
                    &limit,
                    &after_at,
                    &after_id,
                ],
            )
            .await?;
        rows.iter()
            .map(|row| codec::decode_listed_record(row.get("id"), row.get("record")))
            .collect()
    }

    async fn delete_finished(&self, ids: &[String]) -> Result<Vec<String>> {
        let ids = ids.to_vec();
        let rows = self
            .query(
                "delete finished records",
                include_str!("sql/delete_finished_results.sql"),
                &[&ids],
            )
            .await?;
        Ok(rows.iter().map(|row| row.get::<_, String>("id")).collect())
    }

    async fn ping(&self) -> Result<()> {
        self.ping_db().await
    }
}
