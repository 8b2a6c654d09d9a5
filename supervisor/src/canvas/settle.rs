//! A canvas's own record settled: the outcome that ends a canvas (its final node's success, the
//! completer of its final group, its first failure at the top, a revoke) records the canvas
//! `success`, `failure` or `revoked`, and a failure records every node that can now never run
//! `skipped`. The skipped records are written before the commit of the failure (as the group
//! state is: whoever sees the failure sees them too); the canvas's state only after the commit
//! that settles it applied, so a member that ran twice (one run's commit refused as stale)
//! settles it once, and `stem canvas show` writes the same state when it finds a settled canvas
//! still recorded as running (a worker that stopped between the commit and that write).

use serde_json::{json, Value};
use std::time::Duration;
use stem_adapters::{Adapters, Result};
use stem_protocol::{TaskEnvelope, TaskError, TaskRecord, TaskState};

/// The task name of a canvas's own record (which holds its document).
pub const CANVAS_RECORD: &str = "stem.canvas";

/// How a canvas ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Its final result (a chain's last node's, a chord's body's, a group's list).
    Success(Value),
    /// The node that failed it (`chord.header[3] (canvas-…:3)` or its task id) and its error.
    Failure {
        node: String,
        error: Option<String>,
    },
    Revoked {
        reason: String,
    },
}

/// What one outcome settles: the canvas's final state (when it ends the canvas) and the nodes
/// that can never run, as `(task id, task name)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settlement {
    pub canvas_id: String,
    pub outcome: Option<Outcome>,
    pub skipped: Vec<(String, String)>,
}

/// Whether `task_id` is a node of canvas `canvas_id` (`{canvas_id}:{path}`), not one of its
/// `link`/`link_error` callbacks (`{node id}:link0`), which never settle the canvas.
pub fn is_node(canvas_id: &str, task_id: &str) -> bool {
    task_id
        .strip_prefix(canvas_id)
        .and_then(|rest| rest.strip_prefix(':'))
        .is_some_and(|path| !path.is_empty() && !path.contains(':'))
}

/// Writes the records of the nodes that can never run, where none stands (a node that did
/// record something keeps it). Written before the commit of the failure, as the group state
/// is, so whoever sees the failure sees them.
pub async fn write_skipped(adapters: &Adapters, ttl: Duration, s: &Settlement) -> Result<()> {
    let now = stem_protocol::now_ms();
    let mut records = Vec::new();
    for (id, name) in &s.skipped {
        if adapters.backend.get(id).await?.is_some() {
            continue;
        }
        let mut r = TaskRecord::pending(&TaskEnvelope::new(name));
        r.id = id.clone();
        r.created_at = now;
        r.finished_at = Some(now);
        // A revoked canvas revokes every node still to run; a failed one leaves them skipped.
        (r.state, r.error) = match &s.outcome {
            Some(Outcome::Revoked { .. }) => (
                TaskState::Revoked,
                Some(error(
                    "Revoked",
                    format!("not run: canvas {} was revoked", s.canvas_id),
                )),
            ),
            _ => (
                TaskState::Skipped,
                Some(error(
                    "Skipped",
                    format!("not run: a node before it in canvas {} failed", s.canvas_id),
                )),
            ),
        };
        records.push(r);
    }
    if !records.is_empty() {
        adapters.backend.set(&records, ttl).await?;
    }
    Ok(())
}

/// Writes the canvas's final state over its running record, once (a canvas already settled
/// keeps its first settlement). Written after the commit that settles it applied.
pub async fn write_outcome(adapters: &Adapters, ttl: Duration, s: &Settlement) -> Result<()> {
    let Some(outcome) = &s.outcome else {
        return Ok(());
    };
    let Some(mut r) = adapters
        .backend
        .get(&s.canvas_id)
        .await?
        .filter(|r| r.name == CANVAS_RECORD && !r.state.is_terminal())
    else {
        return Ok(());
    };
    let now = stem_protocol::now_ms();
    let doc = r.result.as_ref().and_then(|v| v.get("canvas")).cloned();
    match outcome {
        Outcome::Success(result) => {
            r.state = TaskState::Success;
            r.result = Some(json!({"canvas": doc, "result": result}));
        }
        Outcome::Failure { node, error: e } => {
            r.state = TaskState::Failure;
            let why = e.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
            r.error = Some(error("CanvasFailed", format!("failed: {node}{why}")));
        }
        Outcome::Revoked { reason } => {
            r.state = TaskState::Revoked;
            r.error = Some(error("Revoked", reason.clone()));
        }
    }
    r.finished_at = Some(now);
    r.updated_at = now;
    adapters.backend.set(&[r], ttl).await?;
    Ok(())
}

fn error(kind: &str, message: String) -> TaskError {
    TaskError::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_are_not_nodes() {
        assert!(is_node("canvas-1", "canvas-1:0.1"));
        assert!(is_node("canvas-1", "canvas-1:t"));
        assert!(is_node("canvas-1", "canvas-1:b"));
        assert!(!is_node("canvas-1", "canvas-1:0:link0"));
        assert!(!is_node("canvas-1", "canvas-1:t:err1"));
        assert!(!is_node("canvas-1", "canvas-12:0"));
        assert!(!is_node("canvas-1", "other"));
    }
}
