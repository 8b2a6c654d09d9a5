//! The `BrokerAdmin` trait: what operators and the CLI do to a broker besides the hot path —
//! dead letters (list, replay, purge), queue sizes and the queues known. Workers never call it.

use crate::{DeadLetter, QueueCounts, Result};
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

    /// The queue holding task `id` (ready, delayed or leased), if any. An operator's lookup
    /// (`stem revoke` of an id with no record), not a hot-path call: it may scan.
    async fn find_task(&self, id: &str) -> Result<Option<String>>;
}
