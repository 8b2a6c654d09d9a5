//! One action over many tasks, as the dashboard's task list and `POST /v1/bulk/tasks` ask:
//! retry the failed ones, revoke (or terminate) the unfinished ones, delete the records of the
//! finished ones. Each id gets its own answer; one id's refusal stops nothing else.

use super::retry;
use super::revoke::{self, RevokeRequest};
use super::OpsResult;
use crate::manifest::LoadedManifest;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use stem_adapters::Adapters;

/// The most ids one bulk action takes.
pub const MAX_IDS: usize = 1000;

/// Revocations told to the workers at once (each waits for their answers).
const REVOKES_AT_ONCE: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    /// Enqueue each failed task again under a new id.
    Retry,
    /// Revoke each task; `terminate` also stops a running one.
    Revoke { terminate: bool },
    /// Delete each finished task's record.
    Delete,
}

impl BulkAction {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "retry" => BulkAction::Retry,
            "revoke" => BulkAction::Revoke { terminate: false },
            "terminate" => BulkAction::Revoke { terminate: true },
            "delete" => BulkAction::Delete,
            _ => return None,
        })
    }
}

/// What became of one id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkOutcome {
    pub id: String,
    pub ok: bool,
    /// The new task's id (retry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_id: Option<String>,
    /// Why not, in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl BulkOutcome {
    fn done(id: &str, new_id: Option<String>) -> Self {
        BulkOutcome {
            id: id.to_string(),
            ok: true,
            new_id,
            error: None,
        }
    }

    fn refused(id: &str, why: impl std::fmt::Display) -> Self {
        BulkOutcome {
            id: id.to_string(),
            ok: false,
            new_id: None,
            error: Some(why.to_string()),
        }
    }
}

/// Applies `action` to every id (each once, in the order given). A store that fails outright
/// fails the whole call; a refusal of one id (not failed, no record, still running) is that
/// id's answer.
pub async fn apply(
    adapters: &Adapters,
    manifest: Option<&LoadedManifest>,
    action: BulkAction,
    ids: &[String],
) -> OpsResult<Vec<BulkOutcome>> {
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<String> = ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect();
    match action {
        BulkAction::Retry => {
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                out.push(match retry::retry(adapters, manifest, id).await {
                    Ok(sent) => BulkOutcome::done(id, Some(sent.id)),
                    Err(e) if e.kind() == super::OpsErrorKind::Unavailable => return Err(e),
                    Err(e) => BulkOutcome::refused(id, e),
                });
            }
            Ok(out)
        }
        BulkAction::Revoke { terminate } => {
            let answers: Vec<_> = stream::iter(ids)
                .map(|id: String| async move {
                    let mut request = RevokeRequest::new(id.as_str());
                    request.terminate = terminate;
                    request.reason = Some("revoked in bulk".into());
                    let answer = revoke::revoke(adapters, &request).await;
                    (id, answer)
                })
                .buffered(REVOKES_AT_ONCE)
                .collect()
                .await;
            answers
                .into_iter()
                .map(|(id, answer)| match answer {
                    Ok(_) => Ok(BulkOutcome::done(&id, None)),
                    Err(e) if e.kind() == super::OpsErrorKind::Unavailable => Err(e),
                    Err(e) => Ok(BulkOutcome::refused(&id, e)),
                })
                .collect()
        }
        BulkAction::Delete => {
            let owned = ids;
            let deleted: std::collections::HashSet<String> = adapters
                .backend
                .delete_finished(&owned)
                .await?
                .into_iter()
                .collect();
            Ok(owned
                .iter()
                .map(|id| {
                    if deleted.contains(id) {
                        BulkOutcome::done(id, None)
                    } else {
                        BulkOutcome::refused(
                            id,
                            "no finished record (unknown, expired, or still running: revoke it first)",
                        )
                    }
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::memory;
    use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};

    async fn recorded(adapters: &Adapters, state: TaskState) -> String {
        let mut r = TaskRecord::pending(&TaskEnvelope::new("add"));
        r.state = state;
        adapters
            .backend
            .set(std::slice::from_ref(&r), std::time::Duration::from_secs(60))
            .await
            .unwrap();
        r.id
    }

    #[tokio::test]
    async fn each_id_answers_for_itself() {
        let adapters = memory("bulk-each-id").await;
        let failed = recorded(&adapters, TaskState::Failure).await;
        let done = recorded(&adapters, TaskState::Success).await;
        let running = recorded(&adapters, TaskState::Started).await;
        let ids = vec![failed.clone(), done.clone(), failed.clone(), "nope".into()];
        let out = apply(&adapters, None, BulkAction::Retry, &ids)
            .await
            .unwrap();
        assert_eq!(out.len(), 3, "a repeated id is done once");
        assert!(out[0].ok && out[0].new_id.is_some(), "{out:?}");
        assert!(!out[1].ok && out[1].error.as_deref().unwrap().contains("success"));
        assert!(!out[2].ok);

        let ids = vec![done.clone(), running.clone()];
        let out = apply(&adapters, None, BulkAction::Delete, &ids)
            .await
            .unwrap();
        assert!(out[0].ok, "{out:?}");
        assert!(!out[1].ok && out[1].error.as_deref().unwrap().contains("revoke it first"));
        assert!(adapters.backend.get(&done).await.unwrap().is_none());
        assert!(adapters.backend.get(&running).await.unwrap().is_some());
    }

    #[test]
    fn actions_by_name() {
        assert_eq!(BulkAction::parse("retry"), Some(BulkAction::Retry));
        assert_eq!(
            BulkAction::parse("terminate"),
            Some(BulkAction::Revoke { terminate: true })
        );
        assert_eq!(BulkAction::parse("delete"), Some(BulkAction::Delete));
        assert_eq!(BulkAction::parse("nuke"), None);
    }
}
