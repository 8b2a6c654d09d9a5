//! The `Broker` trait: the hot path of queues of task envelopes with leased delivery — publish,
//! fetch, extend and commit (the admin surface is [`crate::BrokerAdmin`]).
//!
//! Semantics every backend keeps (the contract suite checks them):
//! - `publish` makes a task ready at once, or delayed until its `eta` when that is in the future.
//! - `fetch` leases up to `max` ready tasks: higher `priority` first, then oldest first (across
//!   several queues, backends may serve them in the order given within a priority). A leased
//!   task is invisible to other fetches until its lease expires, then it is delivered again with
//!   `deliveries` incremented. Due delayed tasks become ready exactly once.
//! - `commit` applies each outcome's action — ack (remove for good), release (put back,
//!   optionally as a replacement envelope, after a delay) or dead-letter — atomically with
//!   removing the delivery, with its follow-up publishes, and, when the store is also the result
//!   backend, with its record. `ack`, `release` and `dead_letter` are single commits.
//! - A receipt whose lease was lost (expired and taken by another worker) commits nothing: its
//!   commit is rejected whole as stale (and `extend` reports it).
//! - Every delivery carries a `generation` that only grows from one lease of a task to the next
//!   (the lease grant time on the broker's clock, in µs); records carry it for fencing.
//! - `release` republishes: the released task's `deliveries` count starts again. Poison
//!   detection counts deliveries that ended without an outcome (a worker died), which are
//!   redeliveries after lease expiry, not releases.

use crate::commit::{Action, Commit, Verdict};
use crate::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use stem_protocol::{TaskEnvelope, TaskError};

/// One leased task as fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Opaque handle for ack/release/extend/dead_letter; meaningful only to the backend.
    pub receipt: String,
    pub queue: String,
    /// How many times this task has been delivered, this delivery included (1 the first time).
    pub deliveries: u32,
    /// The fencing token of this lease: greater than that of every earlier lease of the task.
    pub generation: u64,
    pub payload: Payload,
}

/// What a delivery carries: a task, or bytes that are not a valid envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Task(Box<TaskEnvelope>),
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
    /// `error` sealed with the encryption keys (`error` is then absent); see `codec::payloads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_error: Option<String>,
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

    /// Extends the leases of running deliveries to `lease` from now. Returns the receipts whose
    /// lease was already lost (taken over by another consumer, or committed).
    async fn extend(&self, deliveries: &[Delivery], lease: Duration) -> Result<Vec<String>>;

    /// Applies `commits` in one round trip, each whole or not at all, fenced by its lease: one
    /// verdict per commit, in order. With `records: Some(ttl)` this store is also the result
    /// backend, and each commit's record is written (kept for `ttl`) in the same atomic step as
    /// its action; with `None` records are ignored (the caller wrote them elsewhere).
    async fn commit(&self, commits: &[Commit], records: Option<Duration>) -> Result<Vec<Verdict>>;

    /// Cheap liveness check for `stem health`.
    async fn ping(&self) -> Result<()>;

    /// Ends the waits of this store's fetches in progress (a worker's shutdown): a fetch that
    /// found nothing returns empty at once instead of at the end of its wait. Stores whose
    /// fetches already end promptly keep the default, which does nothing.
    fn interrupt_fetches(&self) {}

    /// The store's clock (epoch ms), on which it judges leases, etas and expiries: Redis's
    /// `TIME`, the Postgres server's clock, the clock kept in a SQLite file. `None` for a store
    /// that uses this process's clock (memory).
    async fn store_time(&self) -> Result<Option<i64>> {
        Ok(None)
    }

    /// Removes deliveries for good: one `Ack` commit each, without records.
    async fn ack(&self, deliveries: &[Delivery]) -> Result<()> {
        let commits: Vec<Commit> = deliveries
            .iter()
            .map(|d| Commit::new(d.clone(), None, Action::Ack))
            .collect();
        self.commit(&commits, None).await.map(drop)
    }

    /// Gives a delivery back: removes it and makes `replacement` (or the same envelope when
    /// `None`) ready after `delay`, in one atomic step.
    async fn release(
        &self,
        delivery: &Delivery,
        replacement: Option<&TaskEnvelope>,
        delay: Duration,
    ) -> Result<()> {
        let action = Action::Release {
            replacement: replacement.cloned().map(Box::new),
            delay,
        };
        let commit = Commit::new(delivery.clone(), None, action);
        self.commit(std::slice::from_ref(&commit), None)
            .await
            .map(drop)
    }

    /// Moves a delivery to its queue's dead letters, atomically with removing it.
    async fn dead_letter(&self, delivery: &Delivery, letter: &DeadLetter) -> Result<()> {
        let commit = Commit::new(
            delivery.clone(),
            None,
            Action::DeadLetter(Box::new(letter.clone())),
        );
        self.commit(std::slice::from_ref(&commit), None)
            .await
            .map(drop)
    }
}
