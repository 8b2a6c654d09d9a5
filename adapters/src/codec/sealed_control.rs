//! The control plane as every process sees it: a wrapper around the store's that seals each task
//! event's data on the way in and opens it on the way out (when this process holds the key), so
//! progress values and reasons never reach the events stream in clear on any backend.
//! Commands, replies and heartbeats pass through unchanged: they carry worker state (ids,
//! names, counters), never what a task carries or produces.

use super::payloads::{open_event, seal_event};
use crate::{ControlPlane, ControlReply, ControlRequest, Heartbeat, Result, TaskEvent};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

pub struct SealedControl(pub Arc<dyn ControlPlane>);

/// `inner` with its events sealed as configured.
pub fn sealed_control(inner: Arc<dyn ControlPlane>) -> Arc<dyn ControlPlane> {
    Arc::new(SealedControl(inner))
}

#[async_trait]
impl ControlPlane for SealedControl {
    async fn send(&self, request: &ControlRequest) -> Result<()> {
        self.0.send(request).await
    }

    async fn requests(
        &self,
        worker: &str,
        since: i64,
        wait: Duration,
    ) -> Result<Vec<ControlRequest>> {
        self.0.requests(worker, since, wait).await
    }

    async fn reply(&self, reply: &ControlReply) -> Result<()> {
        self.0.reply(reply).await
    }

    async fn replies(
        &self,
        request_id: &str,
        expect: Option<usize>,
        timeout: Duration,
    ) -> Result<Vec<ControlReply>> {
        self.0.replies(request_id, expect, timeout).await
    }

    async fn heartbeat(&self, heartbeat: &Heartbeat, ttl: Duration) -> Result<()> {
        self.0.heartbeat(heartbeat, ttl).await
    }

    async fn workers(&self) -> Result<Vec<Heartbeat>> {
        self.0.workers().await
    }

    async fn emit(&self, events: &[TaskEvent]) -> Result<()> {
        match super::security() {
            Some(sec) if sec.sealing.is_some() => {
                let sealed: Vec<TaskEvent> =
                    events.iter().map(|e| seal_event(Some(sec), e)).collect();
                self.0.emit(&sealed).await
            }
            _ => self.0.emit(events).await,
        }
    }

    async fn events(
        &self,
        cursor: Option<&str>,
        limit: usize,
        wait: Duration,
    ) -> Result<(Vec<TaskEvent>, String)> {
        let (events, next) = self.0.events(cursor, limit, wait).await?;
        let sec = super::security();
        Ok((
            events.into_iter().map(|e| open_event(sec, e)).collect(),
            next,
        ))
    }
}
