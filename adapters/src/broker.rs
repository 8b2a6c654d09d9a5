//! The `Broker` trait: queues of task envelopes with leased delivery, delays and dead letters.
//!
//! Semantics every backend keeps (the contract suite checks them):
//! - `publish` makes a task ready at once, or delayed until its `eta` when that is in the future.
//! - `fetch` leases up to `max` ready tasks: higher `priority` first, then oldest first (across
//!   several queues, backends may serve them in the order given within a priority). A leased
//!   task is invisible to other fetches until its lease expires, then it is delivered again with
//!   `deliveries` incremented. Due delayed tasks become ready exactly once.
//! - `ack` removes a delivery for good; `release` puts it back (optionally as a replacement
//!   envelope, e.g. the next attempt) after a delay, atomically with removing the delivery;
//!   `dead_letter` moves it to the queue's dead letters, atomically with removing the delivery.
//! - A receipt whose lease was lost (expired and taken by another worker) no longer acks,
//!   extends, releases or dead-letters anything: those calls are no-ops for it (and `extend`
//!   reports it).
//! - `release` republishes: the released task's `deliveries` count starts again. Poison
//!   detection counts deliveries that ended without an outcome (a worker died), which are
//!   redeliveries after lease expiry, not releases.

use crate::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use stem_protocol::{TaskEnvelope, TaskError, TaskRecord};

/// One leased task as fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Opaque handle for ack/release/extend/dead_letter; meaningful only to the backend.
    pub receipt: String,
    pub queue: String,
    /// How many times this task has been delivered, this delivery included (1 the first time).
    pub deliveries: u32,
    pub payload: Payload,
}

/// What a delivery carries: a task, or bytes that are not a valid envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Task(TaskEnvelope),
    Malformed { raw: String, reason: String },
}

impl Delivery {
    pub fn task(&self) -> Option<&TaskEnvelope> {
        match &self.payload {
            Payload::Task(t) => Some(t),
            Payload::Malformed { .. } => None,
        }
    }

    /// The task id, or a stable id derived from the receipt for a malformed payload.
    pub fn task_id(&self) -> String {
        match &self.payload {
            Payload::Task(t) => t.id.clone(),
            Payload::Malformed { .. } => format!("malformed-{}", self.receipt),
        }
    }
}

/// A task in a queue's dead letters, with why it is there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The task id (or `malformed-…` for a payload that was not an envelope).
    pub id: String,
    pub queue: String,
    /// The envelope as it was last delivered; `None` for a malformed payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<TaskEnvelope>,
    /// The raw payload, kept for malformed deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Why: `max_retries exceeded`, `poison: delivered 10 times`, `malformed envelope: …`,
    /// `unknown task`, `not retryable`.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
    pub dead_at: i64,
    #[serde(default)]
    pub replay_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_at: Option<i64>,
}

/// Sizes of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCounts {
    /// Ready to fetch now.
    pub ready: u64,
    /// Waiting for their eta (countdown, retry backoff).
    pub delayed: u64,
    /// Fetched and not yet acknowledged.
    pub leased: u64,
    pub dead: u64,
}

#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// The backend's name for logs and `stem health` (`sqlite`, `redis`, ...).
    fn backend(&self) -> &'static str;

    /// Publishes tasks in one round trip where the backend allows; each goes to `env.queue`.
    async fn publish(&self, tasks: &[TaskEnvelope]) -> Result<()>;

    /// Leases up to `max` ready tasks from `queues` for `lease`, as `consumer`. Returns as soon
    /// as at least one is available, or empty after `wait` (never busy-polls for that long).
    async fn fetch(
        &self,
        consumer: &str,
        queues: &[String],
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Delivery>>;

    /// Removes deliveries for good (after their outcome was recorded).
    async fn ack(&self, deliveries: &[Delivery]) -> Result<()>;

    /// Gives a delivery back: removes it and makes `replacement` (or the same envelope when
    /// `None`) ready after `delay`, in one atomic step.
    async fn release(
        &self,
        delivery: &Delivery,
        replacement: Option<&TaskEnvelope>,
        delay: Duration,
    ) -> Result<()>;

    /// Extends the leases of running deliveries to `lease` from now. Returns the receipts whose
    /// lease was already lost (taken over by another consumer, or acked).
    async fn extend(&self, deliveries: &[Delivery], lease: Duration) -> Result<Vec<String>>;

    /// Moves a delivery to its queue's dead letters, atomically with removing it.
    async fn dead_letter(&self, delivery: &Delivery, letter: &DeadLetter) -> Result<()>;

    /// Dead letters of `queue`, oldest first, at most `limit`.
    async fn dead_letters(&self, queue: &str, limit: usize) -> Result<Vec<DeadLetter>>;

    /// Removes the dead letter `id` of `queue` and publishes `envelope` in one atomic step.
    /// Returns false when there is no such dead letter.
    async fn replay_dead_letter(
        &self,
        queue: &str,
        id: &str,
        envelope: &TaskEnvelope,
    ) -> Result<bool>;

    /// Deletes every dead letter of `queue`; returns how many.
    async fn purge_dead_letters(&self, queue: &str) -> Result<u64>;

    /// Sizes of `queue`.
    async fn counts(&self, queue: &str) -> Result<QueueCounts>;

    /// Every queue the broker knows of (has seen a publish or holds dead letters).
    async fn queues(&self) -> Result<Vec<String>>;

    /// Cheap liveness check for `stem health`.
    async fn ping(&self) -> Result<()>;

    /// When this store is also the result backend (one database for both): writes `records`
    /// (kept for `ttl`) and acknowledges `deliveries` in one transaction, and returns true.
    /// Backends that cannot return false (the default); the caller then writes and acks in two
    /// steps, records first.
    async fn record_and_ack(
        &self,
        records: &[TaskRecord],
        ttl: Duration,
        deliveries: &[Delivery],
    ) -> Result<bool> {
        let _ = (records, ttl, deliveries);
        Ok(false)
    }
}
