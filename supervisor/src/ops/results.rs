//! Task records: a task's state, result or error now, or once it finishes, and the kept records
//! listed by state, task, queue and age, a page at a time. Waiting blocks on the backend's change notifications
//! rather than polling.

use super::OpsResult;
use serde::Serialize;
use std::time::{Duration, Instant};
use stem_adapters::backend::{RecordCursor, MAX_LIST};
use stem_adapters::{Adapters, RecordFilter};
use stem_protocol::{TaskRecord, TaskState};

/// The longest single backend wait; a longer (or unbounded) wait is a series of them.
const WAIT_CHUNK: Duration = Duration::from_secs(30);

/// What is known of a task: its record, or that it has none (yet).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TaskStatus {
    Recorded(Box<TaskRecord>),
    /// No record: not started, unknown, or expired.
    Pending {
        id: String,
        state: TaskState,
    },
    /// No record, and no queue holds the id (see [`status_known`]).
    Unknown {
        id: String,
        state: &'static str,
    },
}

impl TaskStatus {
    fn of(id: &str, record: Option<TaskRecord>) -> Self {
        match record {
            Some(r) => TaskStatus::Recorded(Box::new(r)),
            None => TaskStatus::Pending {
                id: id.to_string(),
                state: TaskState::Pending,
            },
        }
    }
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WaitOutcome {
    /// The task reached a terminal state (success, failure or revoked).
    Finished { record: TaskRecord },
    /// The time ran out first; the latest record, if there is one.
    TimedOut {
        id: String,
        record: Option<TaskRecord>,
    },
}

impl WaitOutcome {
    /// The task as last seen: its record, or pending.
    pub fn status(&self) -> TaskStatus {
        match self {
            WaitOutcome::Finished { record } => TaskStatus::Recorded(Box::new(record.clone())),
            WaitOutcome::TimedOut { id, record } => TaskStatus::of(id, record.clone()),
        }
    }
}

/// The record of `id`, if there is one.
pub async fn get(adapters: &Adapters, id: &str) -> OpsResult<Option<TaskRecord>> {
    Ok(adapters.backend.get(id).await?)
}

/// [`get`], with "no record" spelt as pending.
pub async fn status(adapters: &Adapters, id: &str) -> OpsResult<TaskStatus> {
    Ok(TaskStatus::of(id, get(adapters, id).await?))
}

/// [`status`], telling a task still queued (ready, delayed or leased: pending) from an id nothing
/// knows (`unknown`: never enqueued in this store, a canvas member not published yet, or its
/// record expired). The lookup may scan the broker: an operator's call, not a poll.
pub async fn status_known(adapters: &Adapters, id: &str) -> OpsResult<TaskStatus> {
    if let Some(record) = get(adapters, id).await? {
        return Ok(TaskStatus::Recorded(Box::new(record)));
    }
    if adapters.admin.find_task(id).await?.is_some() {
        return Ok(TaskStatus::of(id, None));
    }
    // It may have finished between the two reads: its record is written before it leaves.
    Ok(match get(adapters, id).await? {
        Some(record) => TaskStatus::Recorded(Box::new(record)),
        None => TaskStatus::Unknown {
            id: id.to_string(),
            state: "unknown",
        },
    })
}

/// The kept records `filter` picks, most recently updated first.
pub async fn list(adapters: &Adapters, filter: &RecordFilter) -> OpsResult<Vec<TaskRecord>> {
    Ok(adapters.backend.list(filter).await?)
}

/// One page of the listing and where the next one starts (`None`: this was the last). Asks for
/// one record more than the page to know; at the backend's cap a full page gives a cursor, and
/// the page after it may be empty.
pub async fn page(
    adapters: &Adapters,
    filter: &RecordFilter,
) -> OpsResult<(Vec<TaskRecord>, Option<RecordCursor>)> {
    let size = filter.limit();
    let probe = RecordFilter {
        limit: (size + 1).min(MAX_LIST),
        ..filter.clone()
    };
    let mut records = adapters.backend.list(&probe).await?;
    let more = records.len() > size || (size == MAX_LIST && records.len() == size);
    records.truncate(size);
    let next = records.last().filter(|_| more).map(RecordCursor::after);
    Ok((records, next))
}

/// Waits until `id` finishes, or `timeout` passes (`None`: no limit).
pub async fn wait(
    adapters: &Adapters,
    id: &str,
    timeout: Option<Duration>,
) -> OpsResult<WaitOutcome> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let chunk = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()).min(WAIT_CHUNK),
            None => WAIT_CHUNK,
        };
        let record = adapters.backend.wait(id, chunk).await?;
        if let Some(record) = record.as_ref().filter(|r| r.state.is_terminal()) {
            return Ok(WaitOutcome::Finished {
                record: record.clone(),
            });
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(WaitOutcome::TimedOut {
                id: id.to_string(),
                record,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::memory;
    use stem_protocol::TaskEnvelope;

    #[tokio::test]
    async fn a_wait_without_a_record_times_out_pending() {
        let adapters = memory("results-timeout").await;
        let outcome = wait(&adapters, "nobody", Some(Duration::from_millis(50)))
            .await
            .expect("wait");
        assert_eq!(
            outcome,
            WaitOutcome::TimedOut {
                id: "nobody".into(),
                record: None
            }
        );
        assert_eq!(
            serde_json::to_value(outcome.status()).expect("json"),
            serde_json::json!({"id": "nobody", "state": "pending"})
        );
    }

    #[tokio::test]
    async fn a_running_task_times_out_with_its_record() {
        let adapters = memory("results-running").await;
        let mut record = TaskRecord::pending(&TaskEnvelope::new("t"));
        record.state = TaskState::Started;
        adapters
            .backend
            .set(std::slice::from_ref(&record), Duration::from_secs(60))
            .await
            .expect("set");
        let outcome = wait(&adapters, &record.id, Some(Duration::from_millis(50)))
            .await
            .expect("wait");
        assert_eq!(
            outcome,
            WaitOutcome::TimedOut {
                id: record.id.clone(),
                record: Some(record.clone())
            }
        );
        assert_eq!(
            status(&adapters, &record.id).await.expect("status"),
            TaskStatus::Recorded(Box::new(record))
        );
    }
}
