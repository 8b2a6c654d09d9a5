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
}
