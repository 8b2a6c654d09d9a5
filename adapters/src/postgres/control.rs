//! The `ControlPlane` on Postgres: requests, replies, heartbeats and the event stream as tables
//! (bodies as JSON). Waits sleep on the listener's control, reply and event wake-ups; the event
//! cursor is the events table's bigserial `seq`.

use super::error::corrupt;
use super::{millis, PgStore};
use crate::wait::{self, Deadline, Look};
use crate::{ControlPlane, ControlReply, ControlRequest, Heartbeat, Result, TaskEvent};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use std::time::Duration;
use tokio_postgres::Row;

fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| corrupt(what, e))
}

fn bodies<T: DeserializeOwned>(what: &str, rows: &[Row]) -> Result<Vec<T>> {
    rows.iter()
        .map(|row| serde_json::from_str(row.get("body")).map_err(|e| corrupt(what, e)))
        .collect()
}

#[async_trait]
impl ControlPlane for PgStore {
    async fn send(&self, request: &ControlRequest) -> Result<()> {
        let body = to_json("send", request)?;
        self.execute(
            "send",
            include_str!("sql/send_request.sql"),
            &[&request.id, &request.target, &request.sent_at, &body],
        )
        .await
        .map(|_| ())
    }

    async fn requests(
        &self,
        worker: &str,
        since: i64,
        wait: Duration,
    ) -> Result<Vec<ControlRequest>> {
        let rows = wait::on_notify(
            &self.signals.control,
            Deadline::after(wait),
            |d| self.signals.sleep_until(d),
            move || async move {
                let rows = self
                    .query(
                        "requests",
                        include_str!("sql/requests.sql"),
                        &[&since, &worker],
                    )
                    .await?;
                Ok(if rows.is_empty() {
                    Look::Again(rows)
                } else {
                    Look::Done(rows)
                })
            },
        )
        .await?;
        bodies("requests", &rows)
    }

    async fn reply(&self, reply: &ControlReply) -> Result<()> {
        let body = to_json("reply", reply)?;
        self.execute(
            "reply",
            include_str!("sql/send_reply.sql"),
            &[&reply.request_id, &reply.at, &body],
        )
        .await
        .map(|_| ())
    }

    async fn replies(
        &self,
        request_id: &str,
        expect: Option<usize>,
        timeout: Duration,
    ) -> Result<Vec<ControlReply>> {
        let rows = wait::on_notify(
            &self.signals.replies,
            Deadline::after(timeout),
            |d| self.signals.sleep_until(d),
            move || async move {
                let rows = self
                    .query("replies", include_str!("sql/replies.sql"), &[&request_id])
                    .await?;
                let enough = expect.is_some_and(|n| rows.len() >= n);
                Ok(if enough {
                    Look::Done(rows)
                } else {
                    Look::Again(rows)
                })
            },
        )
        .await?;
        bodies("replies", &rows)
    }

    async fn heartbeat(&self, heartbeat: &Heartbeat, ttl: Duration) -> Result<()> {
        let body = to_json("heartbeat", heartbeat)?;
        let expires = millis(ttl);
        self.execute(
            "heartbeat",
            include_str!("sql/heartbeat.sql"),
            &[&heartbeat.worker, &heartbeat.at, &expires, &body],
        )
        .await
        .map(|_| ())
    }

    async fn workers(&self) -> Result<Vec<Heartbeat>> {
        let rows = self
            .query("workers", include_str!("sql/workers.sql"), &[])
            .await?;
        bodies("workers", &rows)
    }

    async fn emit(&self, events: &[TaskEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let ats: Vec<i64> = events.iter().map(|e| e.at).collect();
        let bodies = events
            .iter()
            .map(|e| to_json("emit", e))
            .collect::<Result<Vec<_>>>()?;
        self.execute("emit", include_str!("sql/emit.sql"), &[&ats, &bodies])
            .await
            .map(|_| ())
    }

    async fn events(
        &self,
        cursor: Option<&str>,
        limit: usize,
        wait: Duration,
    ) -> Result<(Vec<TaskEvent>, String)> {
        let after: i64 = match cursor {
            Some(c) => c
                .parse()
                .map_err(|_| corrupt("events", format!("invalid event cursor {c:?}")))?,
            None => {
                let rows = self
                    .query("events", include_str!("sql/events_head.sql"), &[])
                    .await?;
                rows.first().map_or(0, |r| r.get("head"))
            }
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = wait::on_notify(
            &self.signals.events,
            Deadline::after(wait),
            |d| self.signals.sleep_until(d),
            move || async move {
                let rows = self
                    .query("events", include_str!("sql/events.sql"), &[&after, &limit])
                    .await?;
                let done = !rows.is_empty() || limit == 0;
                Ok(if done {
                    Look::Done(rows)
                } else {
                    Look::Again(rows)
                })
            },
        )
        .await?;
        let next = rows.last().map_or(after, |r| r.get("seq"));
        Ok((bodies("events", &rows)?, next.to_string()))
    }
}
