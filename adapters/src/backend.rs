//! The `ResultBackend` trait: one record per task (state, value or error, attempts, timestamps)
//! kept for a TTL, and a way to wait for a task to finish without busy polling.

use crate::Result;
use async_trait::async_trait;
use std::time::Duration;
use stem_protocol::TaskRecord;

#[async_trait]
pub trait ResultBackend: Send + Sync + 'static {
    fn backend(&self) -> &'static str;

    /// Upserts records (whole records replace older ones), each kept for `ttl`, fenced by
    /// generation: a record is written only over one whose `generation` is no greater. Returns,
    /// per record in order, whether it was written.
    async fn set(&self, records: &[TaskRecord], ttl: Duration) -> Result<Vec<bool>>;

    async fn get(&self, id: &str) -> Result<Option<TaskRecord>>;

    /// Waits up to `timeout` for the record of `id` to reach a terminal state and returns the
    /// latest record (possibly not terminal at the timeout, or `None` when there is none).
    /// Backends wake on change (notifications), not by polling hard.
    async fn wait(&self, id: &str, timeout: Duration) -> Result<Option<TaskRecord>>;

    async fn ping(&self) -> Result<()>;

    /// Group state of a canvas (a group, or a chord's header): member `index` of `size` joins
    /// with its `result`. A member joins once (a second join of the same index keeps the first
    /// result). Returns true when this member is the group's completer: the one whose join made
    /// every member present (a later join of that same member, a redelivery, returns true
    /// again; every other member's, false). The state is kept for `ttl` from its latest change.
    async fn group_join(
        &self,
        group: &str,
        index: u32,
        size: u32,
        result: &serde_json::Value,
        ttl: Duration,
    ) -> Result<bool>;

    /// Member `index` failed for good. Returns true when it is the group's first failed member
    /// (again true for that member's redelivery), so its failure is reported once.
    async fn group_fail(&self, group: &str, index: u32, size: u32, ttl: Duration) -> Result<bool>;

    /// The members' results by index (`None` where a member has not joined), or `None` when the
    /// group has no state.
    async fn group_results(&self, group: &str) -> Result<Option<Vec<Option<serde_json::Value>>>>;
}
