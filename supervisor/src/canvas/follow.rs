//! From a committed outcome of a canvas task to its follow-ups. On success: the task's `link`
//! callbacks with its result, and its steps — run the next node with the result, or join a
//! group; the member whose join completes the group carries on with the list of the members'
//! results (a chord's body, or what follows the group). On a final failure: the task's
//! `link_error` callbacks, and — from the group's first failed member only — the `link_error`
//! callbacks of every node that will now never run (a chord's body's, a chain's rest). Nothing
//! follows a revoke: the canvas is revoked instead, so its other nodes do not run either.
//!
//! The group state is written before the commit; a member counts once by its index, and only
//! the completer's commit — fenced like every commit — publishes what follows the group.

use super::expand::{envelope, expand, Route};
use serde_json::{json, Value};
use std::time::Duration;
use stem_adapters::{Adapters, Result, Revocation};
use stem_protocol::canvas::{Signature, Step};
use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};

/// The follow-ups of `env`'s outcome `record`, or none when it is not a canvas task.
pub async fn follow_ups(
    adapters: &Adapters,
    ttl: Duration,
    env: &TaskEnvelope,
    record: &TaskRecord,
    route: Route<'_>,
) -> Result<Vec<TaskEnvelope>> {
    let Some(c) = env.canvas.as_deref() else {
        return Ok(Vec::new());
    };
    match record.state {
        TaskState::Success => {
            let result = record.result.clone().unwrap_or(Value::Null);
            let mut out = callbacks(&c.canvas_id, &env.id, "link", &c.link, &result, route);
            out.extend(advance(adapters, ttl, &c.canvas_id, &c.steps, result, route).await?);
            Ok(out)
        }
        // A member that expired before it ran failed the canvas as a failure does.
        TaskState::Failure | TaskState::Expired => {
            let info = json!({"task_id": env.id, "name": env.name, "error": record.error});
            let mut errbacks = c.link_error.clone();
            for step in &c.steps {
                match step {
                    Step::Join {
                        group_id,
                        index,
                        size,
                    } => {
                        if !adapters
                            .backend
                            .group_fail(group_id, *index, *size, ttl)
                            .await?
                        {
                            break;
                        }
                    }
                    Step::Run { node, path } => {
                        for (_, sig) in node.tasks(path) {
                            errbacks.extend(sig.link_error.iter().cloned());
                        }
                    }
                }
            }
            Ok(callbacks(
                &c.canvas_id,
                &env.id,
                "err",
                &errbacks,
                &info,
                route,
            ))
        }
        TaskState::Revoked => {
            let now = stem_protocol::now_ms();
            let revocation = Revocation {
                id: c.canvas_id.clone(),
                terminate: false,
                reason: Some(format!("task {} of the canvas was revoked", env.id)),
                revoked_at: now,
                expires_at: now + ttl.as_millis() as i64,
            };
            adapters.revokes.revoke(&revocation).await?;
            Ok(Vec::new())
        }
        _ => Ok(Vec::new()),
    }
}

/// Applies `steps` to `input` until a node is published or a group is still waiting.
async fn advance(
    adapters: &Adapters,
    ttl: Duration,
    canvas_id: &str,
    steps: &[Step],
    mut input: Value,
    route: Route<'_>,
) -> Result<Vec<TaskEnvelope>> {
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Run { node, path } => {
                return Ok(expand(
                    canvas_id,
                    node,
                    path,
                    Some(&input),
                    &steps[i + 1..],
                    route,
                ));
            }
            Step::Join {
                group_id,
                index,
                size,
            } => {
                let completes = adapters
                    .backend
                    .group_join(group_id, *index, *size, &input, ttl)
                    .await?;
                if !completes {
                    return Ok(Vec::new());
                }
                let results = adapters.backend.group_results(group_id).await?;
                input = Value::Array(
                    results
                        .unwrap_or_default()
                        .into_iter()
                        .map(|r| r.unwrap_or(Value::Null))
                        .collect(),
                );
            }
        }
    }
    Ok(Vec::new())
}

/// `link` or `link_error` callbacks with `input` as their first argument (ids derived from the
/// task's, so a republished follow-up is the same task).
fn callbacks(
    canvas_id: &str,
    task_id: &str,
    kind: &str,
    sigs: &[Signature],
    input: &Value,
    route: Route<'_>,
) -> Vec<TaskEnvelope> {
    sigs.iter()
        .enumerate()
        .map(|(i, s)| {
            let mut env = envelope(
                canvas_id,
                s,
                format!("{task_id}:{kind}{i}"),
                Some(input),
                Vec::new(),
                route,
            );
            // A callback is not part of the canvas's flow: no further steps, its own callbacks
            // only.
            if let Some(c) = env.canvas.as_mut() {
                c.steps.clear();
            }
            env
        })
        .collect()
}
