//! The `ResultBackend` trait: one record per task (state, value or error, attempts, timestamps,
//! args and kwargs) kept for a TTL, a way to wait for a task to finish without busy polling, and
//! a listing of the kept records, newest first, filtered by state, task name, queue and age, in
//! pages a [`RecordCursor`] continues.

use crate::Result;
use async_trait::async_trait;
use std::time::Duration;
use stem_protocol::{TaskRecord, TaskState};

/// The most records one [`ResultBackend::list`] returns, whatever the caller asks.
pub const MAX_LIST: usize = 10_000;

/// Which kept records [`ResultBackend::list`] returns. Every field that is set must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFilter {
    pub state: Option<TaskState>,
    /// The task name.
    pub name: Option<String>,
    pub queue: Option<String>,
    /// Only records updated at or after this time (epoch ms).
    pub since: Option<i64>,
    /// At most this many (capped at [`MAX_LIST`]).
    pub limit: usize,
    /// Only records after this one in the listing's order: the next page.
    pub after: Option<RecordCursor>,
}

/// A place in the listing's order — newest `updated_at` first, then id, largest first — to
/// continue from: the last record of a page. Written `UPDATED_AT:ID` in the API and the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCursor {
    pub updated_at: i64,
    pub id: String,
}

impl RecordCursor {
    /// The cursor just past `record`.
    pub fn after(record: &TaskRecord) -> Self {
        RecordCursor {
            updated_at: record.updated_at,
            id: record.id.clone(),
        }
    }

    /// Reads `UPDATED_AT:ID`, as [`RecordCursor::to_string`] writes it.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let (at, id) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?} is not a cursor (expected UPDATED_AT:ID, as a listing's next_cursor gives)"))?;
        let updated_at = at
            .parse::<i64>()
            .ok()
            .filter(|t| *t >= 0)
            .ok_or_else(|| format!("{text:?} is not a cursor: {at:?} is not a time in ms"))?;
        if id.is_empty() {
            return Err(format!("{text:?} is not a cursor: the id is empty"));
        }
        Ok(RecordCursor {
            updated_at,
            id: id.to_string(),
        })
    }

    /// Whether `record` comes after this place in the listing's order.
    pub fn passes(&self, record: &TaskRecord) -> bool {
        (record.updated_at, record.id.as_str()) < (self.updated_at, self.id.as_str())
    }
}

impl std::fmt::Display for RecordCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.updated_at, self.id)
    }
}

impl Default for RecordFilter {
    fn default() -> Self {
        RecordFilter {
            state: None,
            name: None,
            queue: None,
            since: None,
            limit: 100,
            after: None,
        }
    }
}

impl RecordFilter {
    /// Whether `record` passes every set field.
    pub fn matches(&self, record: &TaskRecord) -> bool {
        self.state.is_none_or(|s| record.state == s)
            && self.name.as_ref().is_none_or(|n| &record.name == n)
            && self.queue.as_ref().is_none_or(|q| &record.queue == q)
            && self.since.is_none_or(|t| record.updated_at >= t)
            && self.after.as_ref().is_none_or(|c| c.passes(record))
    }

    /// The limit, capped.
    pub fn limit(&self) -> usize {
        self.limit.min(MAX_LIST)
    }
}

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

    /// The unexpired records `filter` matches, most recently updated first (ties: the larger id
    /// first), after `filter.after` when set, at most `filter.limit()`.
    async fn list(&self, filter: &RecordFilter) -> Result<Vec<TaskRecord>>;

    /// Deletes the records of `ids` that are finished (a terminal state) — checked and deleted in
    /// one step, so a record a worker is still writing is never lost; returns the ids deleted.
    async fn delete_finished(&self, ids: &[String]) -> Result<Vec<String>>;

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
