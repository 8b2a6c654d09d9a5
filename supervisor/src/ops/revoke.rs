//! Revoking a task: a stored revocation (checked by every worker before a task starts, also by
//! workers started later) plus an immediate control message, so a worker running the task hears
//! of it at once and, with `terminate`, stops it.

use super::OpsResult;
use serde::Serialize;
use serde_json::json;
use std::time::Duration;
use stem_adapters::{Adapters, ControlRequest, Revocation};
use stem_protocol::{new_task_id, now_ms};

/// How long live workers get to say whether they run the task.
pub const REPLY_WINDOW: Duration = Duration::from_millis(1500);

/// How long a revocation is kept when the caller does not say.
pub const DEFAULT_TTL: Duration = Duration::from_secs(86_400);

#[derive(Debug, Clone, PartialEq)]
pub struct RevokeRequest {
    pub id: String,
    /// Also stop the task if it runs: TERM to its process group, then KILL.
    pub terminate: bool,
    /// Why (kept with the revocation).
    pub reason: Option<String>,
    /// How long the revocation is kept.
    pub ttl: Duration,
    /// Store it even when no such task is known (one not yet published).
    pub force: bool,
}

impl RevokeRequest {
    pub fn new(id: impl Into<String>) -> Self {
        RevokeRequest {
            id: id.into(),
            terminate: false,
            reason: None,
            ttl: DEFAULT_TTL,
            force: false,
        }
    }
}

/// A stored revocation, and what the live workers said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revoked {
    pub id: String,
    /// Always true: the revocation is stored.
    pub revoked: bool,
    pub terminate: bool,
    /// The workers that run the task now.
    pub running_on: Vec<String>,
    /// How many live workers answered.
    pub workers_told: usize,
    /// The task (or canvas) has a record, waits in its queue, or a live worker runs it; `false`
    /// only with `force` (a task not yet published).
    pub known: bool,
}

/// Stores the revocation, then tells live workers and gathers their answers for
/// [`REPLY_WINDOW`]. A failure to gather answers is not a failure to revoke.
pub async fn revoke(adapters: &Adapters, request: &RevokeRequest) -> OpsResult<Revoked> {
    let recorded = adapters.backend.get(&request.id).await?.is_some();
    let queued = !recorded && adapters.admin.find_task(&request.id).await?.is_some();
    // A worker may have committed the task between the two lookups (its record written and its
    // broker entry removed in one step): look at the records once more before calling it unknown.
    let recorded = recorded || (!queued && adapters.backend.get(&request.id).await?.is_some());
    if !(recorded || queued || request.force) {
        return Err(super::OpsError::NoSuchTask {
            id: request.id.clone(),
        });
    }
    let now = now_ms();
    let ttl = i64::try_from(request.ttl.as_millis()).unwrap_or(i64::MAX);
    adapters
        .revokes
        .revoke(&Revocation {
            id: request.id.clone(),
            terminate: request.terminate,
            reason: request.reason.clone(),
            revoked_at: now,
            expires_at: now.saturating_add(ttl),
        })
        .await?;
    let message = ControlRequest {
        id: new_task_id(),
        command: "revoke".into(),
        args: json!({"id": request.id, "terminate": request.terminate}),
        target: None,
        sent_at: now,
    };
    adapters.control.send(&message).await?;
    let replies = adapters
        .control
        .replies(&message.id, None, REPLY_WINDOW)
        .await
        .unwrap_or_default();
    let running_on: Vec<String> = replies
        .iter()
        .filter(|r| r.reply.get("running_here").and_then(|v| v.as_bool()) == Some(true))
        .map(|r| r.worker.clone())
        .collect();
    Ok(Revoked {
        id: request.id.clone(),
        revoked: true,
        terminate: request.terminate,
        workers_told: replies.len(),
        known: recorded || queued || !running_on.is_empty(),
        running_on,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::{answer_one, memory};

    #[tokio::test]
    async fn a_revocation_is_stored_and_the_running_worker_named() {
        let adapters = memory("revoke").await;
        let worker = tokio::spawn(answer_one(
            adapters.clone(),
            "w1",
            json!({"running_here": true}),
        ));
        // A task waiting in its queue (no record yet) is known.
        let mut queued = stem_protocol::TaskEnvelope::new("t");
        queued.id = "task-1".into();
        adapters.broker.publish(&[queued]).await.expect("publish");
        let mut request = RevokeRequest::new("task-1");
        request.terminate = true;
        request.reason = Some("test".into());
        let revoked = revoke(&adapters, &request).await.expect("revoke");
        worker.await.expect("worker");
        assert_eq!(revoked.running_on, vec!["w1".to_string()]);
        assert_eq!(revoked.workers_told, 1);
        assert!(revoked.known, "queued and running");
        let refused = revoke(&adapters, &RevokeRequest::new("no-such-task")).await;
        assert!(
            matches!(refused, Err(crate::ops::OpsError::NoSuchTask { .. })),
            "{refused:?}"
        );
        let mut forced = RevokeRequest::new("no-such-task");
        forced.force = true;
        let unknown = revoke(&adapters, &forced).await.expect("revoke --force");
        assert!(!unknown.known);
        let stored = adapters
            .revokes
            .get_revocation("task-1")
            .await
            .expect("get")
            .expect("stored");
        assert!(stored.terminate);
        assert_eq!(stored.reason.as_deref(), Some("test"));
        assert!(stored.expires_at >= stored.revoked_at + DEFAULT_TTL.as_millis() as i64);
    }
}
