//! The SQLite `ControlPlane`: requests, replies and events are appended to tables (trimmed by
//! the periodic clean-up), heartbeats are upserted per worker. Event cursors are the events'
//! row sequence numbers as decimal strings.

use super::wait::Attempt;
use super::{clock, db, sql, SqliteStore, MAX_EVENTS};
use crate::{
    AdapterError, ControlPlane, ControlReply, ControlRequest, Heartbeat, Result, TaskEvent,
};
use async_trait::async_trait;
use rusqlite::{params, Connection, TransactionBehavior};
use serde::de::DeserializeOwned;
use std::time::Duration;

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| AdapterError::permanent(format!("{what}: {e}")))
}

fn decode_all<T: DeserializeOwned>(what: &str, bodies: Vec<String>) -> Result<Vec<T>> {
    bodies
        .iter()
        .map(|b| {
            serde_json::from_str(b)
                .map_err(|e| AdapterError::permanent(format!("unreadable {what}: {e}")))
        })
        .collect()
}

fn strings(conn: &Connection, query: &str, params: impl rusqlite::Params) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(query)?;
    let rows = stmt
        .query_map(params, |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(rows)
}

fn parse_cursor(cursor: &str) -> Result<i64> {
    cursor.parse().map_err(|_| {
        AdapterError::permanent(format!(
            "invalid event cursor {cursor:?}: expected a number returned by events()"
        ))
    })
}

#[async_trait]
impl ControlPlane for SqliteStore {
    async fn send(&self, request: &ControlRequest) -> Result<()> {
        let body = encode("control request", request)?;
        let (target, sent_at) = (request.target.clone(), request.sent_at);
        self.write(move |conn, ns| {
            conn.prepare_cached(sql::REQUEST_INSERT)?
                .execute(params![ns, target, sent_at, body])?;
            Ok(())
        })
        .await
    }

    async fn requests(
        &self,
        worker: &str,
        since: i64,
        wait: Duration,
    ) -> Result<Vec<ControlRequest>> {
        let worker = worker.to_string();
        let got = self
            .poll(wait, move |conn, ns| {
                let bodies = strings(conn, sql::REQUEST_LIST, params![ns, since, worker])?;
                let found: Vec<ControlRequest> = decode_all("control request", bodies)?;
                Ok(Attempt::found((!found.is_empty()).then_some(found)))
            })
            .await?;
        Ok(got.unwrap_or_default())
    }

    async fn reply(&self, reply: &ControlReply) -> Result<()> {
        let body = encode("control reply", reply)?;
        let (request_id, at) = (reply.request_id.clone(), reply.at);
        self.write(move |conn, ns| {
            conn.prepare_cached(sql::REPLY_INSERT)?
                .execute(params![ns, request_id, at, body])?;
            Ok(())
        })
        .await
    }

    async fn replies(
        &self,
        request_id: &str,
        expect: Option<usize>,
        timeout: Duration,
    ) -> Result<Vec<ControlReply>> {
        let id = request_id.to_string();
        let enough = self
            .poll(timeout, move |conn, ns| {
                let bodies = strings(conn, sql::REPLY_LIST, params![ns, id])?;
                let done = expect.is_some_and(|n| bodies.len() >= n);
                Ok(Attempt::found(done.then_some(bodies)))
            })
            .await?;
        let bodies = match enough {
            Some(bodies) => bodies,
            None => {
                let id = request_id.to_string();
                self.run(move |conn, ns| strings(conn, sql::REPLY_LIST, params![ns, id]))
                    .await?
            }
        };
        decode_all("control reply", bodies)
    }

    async fn heartbeat(&self, heartbeat: &Heartbeat, ttl: Duration) -> Result<()> {
        let body = encode("heartbeat", heartbeat)?;
        let worker = heartbeat.worker.clone();
        self.write(move |conn, ns| {
            let expires = db::after(clock::now(conn)?, ttl);
            conn.prepare_cached(sql::HEARTBEAT_SET)?
                .execute(params![ns, worker, expires, body])?;
            Ok(())
        })
        .await?;
        self.maybe_cleanup().await;
        Ok(())
    }

    async fn workers(&self) -> Result<Vec<Heartbeat>> {
        let bodies = self
            .run(|conn, ns| {
                let now = clock::now(conn)?;
                strings(conn, sql::HEARTBEAT_LIST, params![ns, now])
            })
            .await?;
        decode_all("heartbeat", bodies)
    }

    async fn emit(&self, events: &[TaskEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let bodies = events
            .iter()
            .map(|e| encode("task event", e))
            .collect::<Result<Vec<_>>>()?;
        self.write(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(sql::EVENT_INSERT)?;
                for body in &bodies {
                    stmt.execute(params![ns, body])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
        self.maybe_cleanup().await;
        Ok(())
    }

    async fn events(
        &self,
        cursor: Option<&str>,
        limit: usize,
        wait: Duration,
    ) -> Result<(Vec<TaskEvent>, String)> {
        let after = match cursor {
            Some(c) => parse_cursor(c)?,
            None => {
                self.run(|conn, _| {
                    Ok(conn
                        .prepare_cached(sql::EVENT_LAST)?
                        .query_row([], |r| r.get::<_, i64>(0))?)
                })
                .await?
            }
        };
        let limit = i64::try_from(limit).unwrap_or(MAX_EVENTS).min(MAX_EVENTS);
        let got = self
            .poll(wait, move |conn, ns| {
                let mut stmt = conn.prepare_cached(sql::EVENT_LIST)?;
                let rows = stmt
                    .query_map(params![ns, after, limit], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(Attempt::found((!rows.is_empty()).then_some(rows)))
            })
            .await?
            .unwrap_or_default();
        let next = got.last().map_or(after, |(seq, _)| *seq);
        let bodies = got.into_iter().map(|(_, body)| body).collect();
        Ok((decode_all("task event", bodies)?, next.to_string()))
    }
}
