//! The SQLite `ResultBackend` and `RevokeStore`: rows with an `expires_at`, filtered on read
//! and deleted by the store's periodic clean-up.

use super::clock;
use super::commit::write_record;
use super::wait::Attempt;
use super::{db, sql, SqliteStore};
use crate::codec::{self, decode, encode};
use crate::{RecordFilter, Result, ResultBackend, Revocation, RevokeStore};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::time::Duration;
use stem_protocol::TaskRecord;

fn get_record(conn: &Connection, ns: &str, id: &str) -> Result<Option<TaskRecord>> {
    let body: Option<String> = conn
        .prepare_cached(sql::RESULT_GET)?
        .query_row(params![ns, id, clock::now(conn)?], |r| r.get(0))
        .optional()?;
    body.map(|b| codec::decode_record(id, &b)).transpose()
}

#[async_trait]
impl ResultBackend for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn set(&self, records: &[TaskRecord], ttl: Duration) -> Result<Vec<bool>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let records = records.to_vec();
        let written = self
            .write(move |conn, ns| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = clock::advance(&tx)?;
                let expires = db::after(now, ttl);
                let written = records
                    .iter()
                    .map(|r| write_record(&tx, ns, r, expires, now))
                    .collect::<Result<Vec<bool>>>()?;
                tx.commit()?;
                Ok(written)
            })
            .await?;
        self.maybe_cleanup().await;
        Ok(written)
    }

    async fn get(&self, id: &str) -> Result<Option<TaskRecord>> {
        let id = id.to_string();
        self.run(move |conn, ns| get_record(conn, ns, &id)).await
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
        let key = id.to_string();
        let terminal = self
            .poll(timeout, move |conn, ns| {
                let record = get_record(conn, ns, &key)?;
                Ok(Attempt::found(record.filter(|r| r.state.is_terminal())))
            })
            .await?;
        match terminal {
            Some(record) => Ok(Some(record)),
            None => ResultBackend::get(self, id).await,
        }
    }

    async fn list(&self, filter: &RecordFilter) -> Result<Vec<TaskRecord>> {
        let f = filter.clone();
        self.run(move |conn, ns| {
            let mut stmt = conn.prepare_cached(sql::RESULT_LIST)?;
            let rows = stmt
                .query_map(
                    params![
                        ns,
                        clock::now(conn)?,
                        f.state.map(|s| s.as_str()),
                        f.name,
                        f.queue,
                        f.since,
                        f.limit() as i64,
                        f.after.as_ref().map(|c| c.updated_at),
                        f.after.as_ref().map(|c| c.id.clone())
                    ],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.iter()
                .map(|(id, body)| codec::decode_listed_record(id, body))
                .collect()
        })
        .await
    }

    async fn delete_finished(&self, ids: &[String]) -> Result<Vec<String>> {
        let ids = ids.to_vec();
        self.write(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut deleted = Vec::new();
            {
                let mut stmt = tx.prepare_cached(sql::RESULT_DELETE_FINISHED)?;
                for id in &ids {
                    if stmt.execute(params![ns, id])? > 0 {
                        deleted.push(id.clone());
                    }
                }
            }
            tx.commit()?;
            Ok(deleted)
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        crate::Broker::ping(self).await
    }
}

#[async_trait]
impl RevokeStore for SqliteStore {
    async fn revoke(&self, revocation: &Revocation) -> Result<()> {
        let r = revocation.clone();
        let body = encode("revocation", &r)?;
        self.write(move |conn, ns| {
            conn.prepare_cached(sql::REVOKE_SET)?.execute(params![
                ns,
                r.id,
                r.revoked_at,
                r.expires_at,
                body
            ])?;
            Ok(())
        })
        .await?;
        self.maybe_cleanup().await;
        Ok(())
    }

    async fn revocations(&self, since: i64) -> Result<Vec<Revocation>> {
        self.run(move |conn, ns| {
            let mut stmt = conn.prepare_cached(sql::REVOKE_LIST)?;
            let bodies = stmt
                .query_map(params![ns, since, clock::now(conn)?], |r| {
                    r.get::<_, String>(0)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            bodies.iter().map(|b| decode("revocation", b)).collect()
        })
        .await
    }

    async fn get_revocation(&self, id: &str) -> Result<Option<Revocation>> {
        let id = id.to_string();
        self.run(move |conn, ns| {
            let body: Option<String> = conn
                .prepare_cached(sql::REVOKE_GET)?
                .query_row(params![ns, id, clock::now(conn)?], |r| r.get(0))
                .optional()?;
            body.map(|b| decode("revocation", &b)).transpose()
        })
        .await
    }
}
