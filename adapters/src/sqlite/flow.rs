//! `FlowControl` on SQLite: tables `stem_flow_uniques`, `stem_flow_paused`,
//! `stem_flow_buckets`, `stem_flow_slots`, `stem_flow_debounce` (in `debounce.rs`); every read-modify-write is one `BEGIN IMMEDIATE`
//! transaction, so processes sharing the file take turns.

use super::{clock, ms, SqliteStore};
use crate::debounce::{DebouncePut, DebounceTake};
use crate::flow::{bucket_step, FlowControl};
use crate::Result;
use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use std::time::Duration;

#[async_trait]
impl FlowControl for SqliteStore {
    async fn claim_unique(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
        stale: Option<&str>,
    ) -> Result<Option<String>> {
        let (key, holder) = (key.to_string(), holder.to_string());
        let stale = stale.map(str::to_string);
        self.write(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = clock::advance(&tx)?;
            let current: Option<String> = tx
                .prepare_cached(
                    "SELECT holder FROM stem_flow_uniques WHERE ns = ?1 AND key = ?2 \
                     AND expires_at > ?3",
                )?
                .query_row(params![ns, key, now], |r| r.get(0))
                .optional()?;
            if let Some(other) = current.filter(|c| *c != holder && Some(c) != stale.as_ref()) {
                return Ok(Some(other));
            }
            tx.prepare_cached(
                "INSERT OR REPLACE INTO stem_flow_uniques (ns, key, holder, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![ns, key, holder, now.saturating_add(ms(ttl))])?;
            tx.commit()?;
            Ok(None)
        })
        .await
    }

    async fn release_unique(&self, key: &str, holder: &str) -> Result<bool> {
        let (key, holder) = (key.to_string(), holder.to_string());
        self.write(move |conn, ns| {
            Ok(conn
                .prepare_cached(
                    "DELETE FROM stem_flow_uniques WHERE ns = ?1 AND key = ?2 AND holder = ?3",
                )?
                .execute(params![ns, key, holder])?
                > 0)
        })
        .await
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        let queue = queue.to_string();
        self.write(move |conn, ns| {
            let sql = if paused {
                "INSERT OR IGNORE INTO stem_flow_paused (ns, queue) VALUES (?1, ?2)"
            } else {
                "DELETE FROM stem_flow_paused WHERE ns = ?1 AND queue = ?2"
            };
            conn.prepare_cached(sql)?.execute(params![ns, queue])?;
            Ok(())
        })
        .await
    }

    async fn paused_queues(&self) -> Result<Vec<String>> {
        self.run(move |conn, ns| {
            let mut stmt = conn.prepare_cached(
                "SELECT queue FROM stem_flow_paused WHERE ns = ?1 ORDER BY queue",
            )?;
            let rows = stmt.query_map([ns], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .await
    }

    async fn take_token(
        &self,
        bucket: &str,
        per_second: f64,
        burst: u32,
    ) -> Result<Option<Duration>> {
        let bucket = bucket.to_string();
        self.run(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let state: Option<(f64, i64)> = tx
                .prepare_cached(
                    "SELECT tokens, updated_at FROM stem_flow_buckets WHERE ns = ?1 AND key = ?2",
                )?
                .query_row(params![ns, bucket], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let ((tokens, at), verdict) =
                bucket_step(state, clock::advance(&tx)?, per_second, burst);
            tx.prepare_cached(
                "INSERT OR REPLACE INTO stem_flow_buckets (ns, key, tokens, updated_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![ns, bucket, tokens, at])?;
            tx.commit()?;
            Ok(verdict)
        })
        .await
    }

    async fn take_slot(&self, key: &str, max: u32, holder: &str, lease: Duration) -> Result<bool> {
        let (key, holder) = (key.to_string(), holder.to_string());
        self.run(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = clock::advance(&tx)?;
            tx.prepare_cached(
                "DELETE FROM stem_flow_slots WHERE ns = ?1 AND key = ?2 AND expires_at <= ?3",
            )?
            .execute(params![ns, key, now])?;
            let (held, live): (i64, i64) = tx
                .prepare_cached(
                    "SELECT coalesce(sum(holder = ?3), 0), count(*) FROM stem_flow_slots \
                     WHERE ns = ?1 AND key = ?2",
                )?
                .query_row(params![ns, key, holder], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let taken = held > 0 || live < i64::from(max);
            if taken {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO stem_flow_slots (ns, key, holder, expires_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    ns,
                    key,
                    holder,
                    now.saturating_add(ms(lease))
                ])?;
            }
            tx.commit()?;
            Ok(taken)
        })
        .await
    }

    async fn release_slot(&self, key: &str, holder: &str) -> Result<()> {
        let (key, holder) = (key.to_string(), holder.to_string());
        self.run(move |conn, ns| {
            conn.prepare_cached(
                "DELETE FROM stem_flow_slots WHERE ns = ?1 AND key = ?2 AND holder = ?3",
            )?
            .execute(params![ns, key, holder])?;
            Ok(())
        })
        .await
    }

    async fn debounce_put(
        &self,
        key: &str,
        id: &str,
        payload: &str,
        window: Duration,
        max_wait: Option<Duration>,
    ) -> Result<DebouncePut> {
        let (key, id, payload) = (key.to_string(), id.to_string(), payload.to_string());
        self.write(move |conn, ns| {
            super::debounce::put(conn, ns, (&key, &id, &payload), window, max_wait)
        })
        .await
    }

    async fn debounce_take(&self, key: &str, id: &str) -> Result<DebounceTake> {
        let (key, id) = (key.to_string(), id.to_string());
        self.write(move |conn, ns| super::debounce::take(conn, ns, &key, &id))
            .await
    }

    async fn debounce_done(&self, key: &str, id: &str) -> Result<()> {
        let (key, id) = (key.to_string(), id.to_string());
        self.write(move |conn, ns| super::debounce::done(conn, ns, &key, &id))
            .await
    }
}
