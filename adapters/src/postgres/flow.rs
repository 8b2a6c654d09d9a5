//! `FlowControl` on Postgres: tables `flow_uniques`, `flow_paused`, `flow_buckets`,
//! `flow_slots` (migration 6; the unique claim's take-over of a stale holder: migration 8),
//! `flow_debounce` (migration 13); each read-modify-write is one call of a server-side function
//! that takes a transaction-scoped advisory lock on its key and reads the server's clock.

use super::PgStore;
use crate::debounce::{DebouncePut, DebounceTake};
use crate::flow::FlowControl;
use crate::Result;
use async_trait::async_trait;
use std::time::Duration;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

#[async_trait]
impl FlowControl for PgStore {
    async fn claim_unique(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
        stale: Option<&str>,
    ) -> Result<Option<String>> {
        let rows = self
            .query(
                "claim unique",
                include_str!("sql/flow_claim_unique.sql"),
                &[&key, &holder, &ms(ttl), &stale],
            )
            .await?;
        Ok(rows
            .first()
            .and_then(|r| r.get::<_, Option<String>>("holder")))
    }

    async fn release_unique(&self, key: &str, holder: &str) -> Result<bool> {
        let sql = include_str!("sql/flow_release_unique.sql");
        Ok(self
            .execute("release unique", sql, &[&key, &holder])
            .await?
            > 0)
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        let sql = if paused {
            include_str!("sql/flow_pause.sql")
        } else {
            include_str!("sql/flow_resume.sql")
        };
        self.execute("pause", sql, &[&queue]).await.map(drop)
    }

    async fn paused_queues(&self) -> Result<Vec<String>> {
        let rows = self
            .query("paused queues", include_str!("sql/flow_paused.sql"), &[])
            .await?;
        Ok(rows.iter().map(|r| r.get("queue")).collect())
    }

    async fn take_token(
        &self,
        bucket: &str,
        per_second: f64,
        burst: u32,
    ) -> Result<Option<Duration>> {
        let burst = f64::from(burst.max(1));
        let rows = self
            .query(
                "rate limit",
                include_str!("sql/flow_take_token.sql"),
                &[&bucket, &per_second, &burst],
            )
            .await?;
        let wait: i64 = rows.first().map(|r| r.get("wait_ms")).unwrap_or(0);
        Ok((wait > 0).then(|| Duration::from_millis(wait as u64)))
    }

    async fn take_slot(&self, key: &str, max: u32, holder: &str, lease: Duration) -> Result<bool> {
        let max = i32::try_from(max).unwrap_or(i32::MAX);
        let rows = self
            .query(
                "concurrency slot",
                include_str!("sql/flow_take_slot.sql"),
                &[&key, &max, &holder, &ms(lease)],
            )
            .await?;
        Ok(rows.first().is_some_and(|r| r.get::<_, bool>("taken")))
    }

    async fn release_slot(&self, key: &str, holder: &str) -> Result<()> {
        let sql = include_str!("sql/flow_release_slot.sql");
        self.execute("release slot", sql, &[&key, &holder])
            .await
            .map(drop)
    }

    async fn debounce_put(
        &self,
        key: &str,
        id: &str,
        payload: &str,
        window: Duration,
        max_wait: Option<Duration>,
    ) -> Result<DebouncePut> {
        let max_wait = max_wait.map(ms);
        let rows = self
            .query(
                "debounce",
                include_str!("sql/flow_debounce_put.sql"),
                &[&key, &id, &payload, &ms(window), &max_wait],
            )
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| crate::AdapterError::transient("debounce: the server gave no answer"))?;
        Ok(DebouncePut {
            id: row.get("o_id"),
            due: row.get("o_due"),
            first: row.get("o_first"),
        })
    }

    async fn debounce_take(&self, key: &str, id: &str) -> Result<DebounceTake> {
        let sql = include_str!("sql/flow_debounce_take.sql");
        let rows = self.query("debounce take", sql, &[&key, &id]).await?;
        let Some(row) = rows.first() else {
            return Ok(DebounceTake::Gone);
        };
        let value: Option<String> = row.get("o_value");
        Ok(match (row.get::<_, String>("o_what").as_str(), value) {
            ("wait", Some(due)) => DebounceTake::Wait(due.parse().unwrap_or(0)),
            ("take", Some(payload)) => DebounceTake::Take(payload),
            _ => DebounceTake::Gone,
        })
    }

    async fn debounce_done(&self, key: &str, id: &str) -> Result<()> {
        let sql = include_str!("sql/flow_debounce_done.sql");
        self.execute("debounce done", sql, &[&key, &id])
            .await
            .map(drop)
    }
}
