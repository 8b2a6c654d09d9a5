//! From a committed outcome of a canvas task to its follow-ups. On success: the task's `link`
//! callbacks with its result, and its steps — run the next node with the result, or join a
//! group; the member whose join completes the group carries on with the list of the members'
//! results (a chord's body, or what follows the group). On a final failure: the task's
//! `link_error` callbacks, and — from the group's first failed member only — the `link_error`
//! callbacks of every node that will now never run (a chord's body's, a chain's rest). Nothing
//! follows a revoke: the canvas is revoked instead, so its other nodes do not run either.
//!
//! A member of an `on_complete` chord (a join with `outcomes`) joins when it finishes whatever
//! the outcome, with its outcome (`{"id", "state", "result" | "error"}`) instead of its result:
//! a failure stops at that join (the member's own rest is skipped) and does not fail the
//! canvas; the completer carries on with the list of outcomes, in member order.
//!
//! The group state is written before the commit; a member counts once by its index, and only
//! the completer's commit — fenced like every commit — publishes what follows the group.
//! Alongside the follow-ups comes what the outcome settles ([`Settlement`]): the canvas's end
//! when the outcome reaches the end of its steps (a success past the last node, a failure that
//! is its group's first, up to the top) and the nodes a failure leaves never to run.

use super::expand::{envelope, expand, Route};
use super::settle::{is_node, Outcome, Settlement};
use serde_json::{json, Value};
use std::time::Duration;
use stem_adapters::{Adapters, Result, Revocation};
use stem_protocol::canvas::{outcome, task_id, Signature, Step};
use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};

/// The follow-ups of `env`'s outcome `record` and what it settles, or nothing when it is not a
/// canvas task.
pub async fn follow_ups(
    adapters: &Adapters,
    ttl: Duration,
    env: &TaskEnvelope,
    record: &TaskRecord,
    route: Route<'_>,
) -> Result<(Vec<TaskEnvelope>, Settlement)> {
    let Some(c) = env.canvas.as_deref() else {
        return Ok(Default::default());
    };
    let mut settled = Settlement {
        canvas_id: c.canvas_id.clone(),
        ..Default::default()
    };
    // A callback (not a node) never settles anything.
    let member = is_node(&c.canvas_id, &env.id);
    match record.state {
        TaskState::Success => {
            let result = record.result.clone().unwrap_or(Value::Null);
            let mut out = callbacks(&c.canvas_id, &env.id, "link", &c.link, &result, route);
            let (next, end) = advance(
                adapters,
                ttl,
                (&c.canvas_id, &env.id),
                &c.steps,
                result,
                route,
            )
            .await?;
            out.extend(next);
            if member {
                settled.outcome = end.map(Outcome::Success);
            }
            Ok((out, settled))
        }
        // A member that expired before it ran failed the canvas as a failure does.
        TaskState::Failure | TaskState::Expired => {
            let info = json!({"task_id": env.id, "name": env.name, "error": record.error});
            let mut errbacks = c.link_error.clone();
            let mut top = true;
            let mut out = Vec::new();
            for (i, step) in c.steps.iter().enumerate() {
                match step {
                    Step::Join {
                        group_id,
                        index,
                        size,
                        outcomes: true,
                    } => {
                        // An on_complete chord's member: the failure joins as its outcome and
                        // goes no further; the completer carries on with every outcome.
                        top = false;
                        let state = if record.state == TaskState::Expired {
                            "expired"
                        } else {
                            "failure"
                        };
                        let error = record
                            .error
                            .as_ref()
                            .and_then(|e| serde_json::to_value(e).ok());
                        let joined = outcome(&env.id, state, None, error);
                        if adapters
                            .backend
                            .group_join(group_id, *index, *size, &joined, ttl)
                            .await?
                        {
                            let list = member_list(adapters, group_id).await?;
                            let ids = (c.canvas_id.as_str(), env.id.as_str());
                            let (next, end) =
                                advance(adapters, ttl, ids, &c.steps[i + 1..], list, route).await?;
                            out.extend(next);
                            if member {
                                settled.outcome = end.map(Outcome::Success);
                            }
                        }
                        break;
                    }
                    Step::Join {
                        group_id,
                        index,
                        size,
                        ..
                    } => {
                        if !adapters
                            .backend
                            .group_fail(group_id, *index, *size, ttl)
                            .await?
                        {
                            top = false;
                            break;
                        }
                    }
                    Step::Run { node, path } => {
                        for (p, sig) in node.tasks(path) {
                            errbacks.extend(sig.link_error.iter().cloned());
                            if member {
                                settled
                                    .skipped
                                    .push((task_id(&c.canvas_id, &p), sig.task.clone()));
                            }
                        }
                    }
                }
            }
            if member && top {
                settled.outcome = Some(Outcome::Failure {
                    node: env.id.clone(),
                    error: record
                        .error
                        .as_ref()
                        .map(|e| format!("{}: {}", e.kind, e.message)),
                });
            }
            out.extend(callbacks(
                &c.canvas_id,
                &env.id,
                "err",
                &errbacks,
                &info,
                route,
            ));
            Ok((out, settled))
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
            if member {
                // What would have come after it never runs: recorded revoked with the canvas.
                for step in &c.steps {
                    if let Step::Run { node, path } = step {
                        for (p, sig) in node.tasks(path) {
                            settled
                                .skipped
                                .push((task_id(&c.canvas_id, &p), sig.task.clone()));
                        }
                    }
                }
                settled.outcome = Some(Outcome::Revoked {
                    reason: format!("task {} of the canvas was revoked", env.id),
                });
            }
            Ok((Vec::new(), settled))
        }
        _ => Ok((Vec::new(), settled)),
    }
}

/// Applies `steps` to `input` until a node is published or a group is still waiting; past the
/// last step, the canvas's final result comes back too.
async fn advance(
    adapters: &Adapters,
    ttl: Duration,
    (canvas_id, from): (&str, &str),
    steps: &[Step],
    mut input: Value,
    route: Route<'_>,
) -> Result<(Vec<TaskEnvelope>, Option<Value>)> {
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Run { node, path } => {
                let next = expand(canvas_id, node, path, Some(&input), &steps[i + 1..], route);
                return Ok((next, None));
            }
            Step::Join {
                group_id,
                index,
                size,
                outcomes,
            } => {
                // An on_complete chord's member joins with its outcome (`from` ended it).
                let joined = if *outcomes {
                    outcome(from, "success", Some(&input), None)
                } else {
                    input
                };
                let completes = adapters
                    .backend
                    .group_join(group_id, *index, *size, &joined, ttl)
                    .await?;
                if !completes {
                    return Ok((Vec::new(), None));
                }
                input = member_list(adapters, group_id).await?;
            }
        }
    }
    Ok((Vec::new(), Some(input)))
}

/// A completed group's joined values, in member order.
async fn member_list(adapters: &Adapters, group_id: &str) -> Result<Value> {
    let results = adapters.backend.group_results(group_id).await?;
    Ok(Value::Array(
        results
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.unwrap_or(Value::Null))
            .collect(),
    ))
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
