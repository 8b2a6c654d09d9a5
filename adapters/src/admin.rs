//! The `BrokerAdmin` trait: what operators and the CLI do to a broker besides the hot path —
//! dead letters (list, replay, purge), queue sizes, the queues known, and a look at the tasks a
//! queue holds (waiting, delayed, leased). Workers never call it.

use crate::{DeadLetter, Payload, QueueCounts, Result};
use async_trait::async_trait;
use stem_protocol::TaskEnvelope;

#[async_trait]
pub trait BrokerAdmin: Send + Sync + 'static {
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

    /// Tasks of `queue` in one state, at most `limit`, in the order they will move: waiting ones
    /// in fetch order (highest priority, then oldest), delayed ones by due time, leased ones by
    /// lease expiry; each state holds what [`BrokerAdmin::counts`] counts in it (so where a
    /// store counts a due delayed task as waiting, so does this). Nothing is leased or changed.
    async fn peek(&self, queue: &str, state: Held, limit: usize) -> Result<Vec<Peeked>>;

    /// The queue holding task `id` (ready, delayed or leased), if any. An operator's lookup
    /// (`stem revoke` of an id with no record), not a hot-path call: it may scan.
    async fn find_task(&self, id: &str) -> Result<Option<String>>;
}

/// A state a queued task can be in, for [`BrokerAdmin::peek`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Ready for the next fetch.
    Waiting,
    /// Not yet due: an eta, a countdown or a retry's delay.
    Delayed,
    /// Leased by a worker (running, or reserved in its prefetch window).
    Leased,
}

impl Held {
    pub fn as_str(self) -> &'static str {
        match self {
            Held::Waiting => "waiting",
            Held::Delayed => "delayed",
            Held::Leased => "leased",
        }
    }
}

/// One queued task as [`BrokerAdmin::peek`] sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Peeked {
    pub payload: Payload,
    /// Delayed: when it falls due; leased: when the lease runs out (epoch ms, the store's clock).
    pub at: Option<i64>,
    /// Leased: the worker holding it, where the store keeps it.
    pub owner: Option<String>,
    /// Deliveries so far.
    pub deliveries: u32,
}
