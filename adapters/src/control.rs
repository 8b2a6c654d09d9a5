//! The `ControlPlane` trait: commands to workers and their replies (ping, inspect, stats,
//! shutdown, pause/resume, revoke), worker heartbeats, and the task event stream. It travels over
//! the broker's service.

use crate::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// A command for one worker (`target`) or all of them (`None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlRequest {
    pub id: String,
    /// `ping`, `inspect`, `stats`, `shutdown`, `pause`, `resume`, `revoke`.
    pub command: String,
    #[serde(default)]
    pub args: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub sent_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlReply {
    pub request_id: String,
    pub worker: String,
    pub reply: Value,
    pub at: i64,
}

/// What a live worker publishes every few seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub worker: String,
    pub host: String,
    pub pid: u32,
    pub queues: Vec<String>,
    pub in_flight: u32,
    pub version: String,
    pub started_at: i64,
    pub at: i64,
    /// Counters (processed, failed, retried, ...).
    #[serde(default)]
    pub stats: Value,
}

/// One task event: received, started, progress, retried, succeeded, failed, revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEvent {
    pub kind: String,
    pub task_id: String,
    pub name: String,
    pub queue: String,
    pub worker: String,
    pub at: i64,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
    /// `data` sealed with the encryption keys (`data` is then null); see `codec::payloads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

#[async_trait]
pub trait ControlPlane: Send + Sync + 'static {
    /// Broadcasts a command (workers started after it was sent ignore it).
    async fn send(&self, request: &ControlRequest) -> Result<()>;

    /// Commands sent after `since` (epoch ms) that address `worker` or all workers, oldest first.
    /// Waits up to `wait` for the first one.
    async fn requests(
        &self,
        worker: &str,
        since: i64,
        wait: Duration,
    ) -> Result<Vec<ControlRequest>>;

    async fn reply(&self, reply: &ControlReply) -> Result<()>;

    /// Replies to `request_id` gathered until `timeout` has passed (or `expect` replies came).
    async fn replies(
        &self,
        request_id: &str,
        expect: Option<usize>,
        timeout: Duration,
    ) -> Result<Vec<ControlReply>>;

    /// Records a worker's heartbeat, kept for `ttl`.
    async fn heartbeat(&self, heartbeat: &Heartbeat, ttl: Duration) -> Result<()>;

    /// The latest heartbeat of every worker seen within its TTL (lapsed ones may be included
    /// until the TTL passes; callers compare `at` with the heartbeat interval).
    async fn workers(&self) -> Result<Vec<Heartbeat>>;

    /// Appends events to the event stream (bounded; old events are trimmed).
    async fn emit(&self, events: &[TaskEvent]) -> Result<()>;

    /// Events after `cursor` (`None`: only new ones from now; `Some("0")`: from the start),
    /// at most `limit`, waiting up to `wait` for the first. Returns them and the next cursor.
    async fn events(
        &self,
        cursor: Option<&str>,
        limit: usize,
        wait: Duration,
    ) -> Result<(Vec<TaskEvent>, String)>;
}
