//! Canvases: submit a document (checked against the manifest, every starting task published in
//! one batch, the document kept as the canvas's own record so it can be shown), show every
//! node with its state, and wait for the final result (a chain's last node, a chord's body, a
//! group's list of results).

use super::{OpsError, OpsResult};
use crate::canvas::expand::expand;
use crate::canvas::settle::{self, Outcome, Settlement};
use crate::manifest::LoadedManifest;
use serde::Serialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use stem_adapters::Adapters;
use stem_protocol::canvas::{self, group_id, task_id, Node, Signature};
use stem_protocol::{TaskRecord, TaskState};

pub use crate::canvas::settle::CANVAS_RECORD;

#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    pub id: String,
    /// Tasks published at once (the first node of every branch).
    pub published: usize,
    /// Signatures in the document.
    pub nodes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeView {
    /// Where it is in the document (`chord.header[3]`).
    pub path: String,
    pub task: String,
    pub task_id: String,
    /// `pending` until a worker recorded something.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CanvasView {
    pub id: String,
    /// `pending`, `running`, `success`, `failure` or `revoked`.
    pub state: String,
    /// The final result, once there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The node that failed the canvas, when one did (a failure an `on_complete` chord
    /// absorbs does not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// Nodes by outcome: succeeded, failed, pending, skipped, revoked.
    pub summary: super::canvas_summary::Summary,
    pub nodes: Vec<NodeView>,
}

/// Parses `doc` and checks every task name (callbacks included) against `manifest`.
pub fn check(doc: &Value, manifest: Option<&LoadedManifest>) -> OpsResult<Node> {
    let node = canvas::parse(doc).map_err(|e| OpsError::Canvas(e.to_string()))?;
    if let Some(m) = manifest {
        for (path, sig) in doc_paths(&node, "") {
            for (p, s) in std::iter::once((path.clone(), sig)).chain(callbacks(&path, sig)) {
                if m.effective(&s.task).is_none() {
                    let known: Vec<&str> = m.manifest.tasks.keys().map(String::as_str).collect();
                    return Err(OpsError::Canvas(format!(
                        "{}: unknown task {:?}: {} names {}",
                        if p.is_empty() {
                            "task".into()
                        } else {
                            format!("{p}.task")
                        },
                        s.task,
                        m.path.display(),
                        known.join(", ")
                    )));
                }
            }
        }
    }
    Ok(node)
}

fn callbacks<'a>(path: &str, sig: &'a Signature) -> Vec<(String, &'a Signature)> {
    let link = sig
        .link
        .iter()
        .enumerate()
        .map(|(i, s)| (at(path, &format!("link[{i}]")), s));
    let err = sig
        .link_error
        .iter()
        .enumerate()
        .map(|(i, s)| (at(path, &format!("link_error[{i}]")), s));
    link.chain(err).collect()
}

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Every signature with its path in the document's own terms (`chain[1].group[0]`).
fn doc_paths<'a>(node: &'a Node, path: &str) -> Vec<(String, &'a Signature)> {
    match node {
        Node::Task(s) => vec![(path.to_string(), s)],
        Node::Chain(n) => n
            .iter()
            .enumerate()
            .flat_map(|(i, c)| doc_paths(c, &at(path, &format!("chain[{i}]"))))
            .collect(),
        Node::Group(n) => n
            .iter()
            .enumerate()
            .flat_map(|(i, c)| doc_paths(c, &at(path, &format!("group[{i}]"))))
            .collect(),
        Node::Chord {
            header,
            body,
            complete,
        } => {
            let mut out: Vec<_> = header
                .iter()
                .enumerate()
                .flat_map(|(i, c)| doc_paths(c, &at(path, &format!("chord.header[{i}]"))))
                .collect();
            let key = if *complete {
                "chord.on_complete"
            } else {
                "chord.body"
            };
            out.extend(doc_paths(body, &at(path, key)));
            out
        }
    }
}

/// Submits a checked canvas: keeps its document and publishes its first tasks in one batch.
pub async fn submit(
    adapters: &Adapters,
    doc: &Value,
    manifest: Option<&LoadedManifest>,
    ttl: Duration,
) -> OpsResult<Submitted> {
    let node = check(doc, manifest)?;
    let id = format!("canvas-{}", stem_protocol::new_task_id());
    let route = |name: &str| manifest.and_then(|m| m.effective(name)).map(|t| t.queue);
    let envelopes = expand(&id, &node, "", None, &[], &route);
    for env in &envelopes {
        super::enqueue::check_payload(adapters, env)?;
    }
    let mut record = TaskRecord::pending(&stem_protocol::TaskEnvelope::new(CANVAS_RECORD));
    record.id = id.clone();
    record.result = Some(json!({ "canvas": doc }));
    adapters
        .backend
        .set(std::slice::from_ref(&record), ttl)
        .await?;
    for chunk in envelopes.chunks(10_000) {
        adapters.broker.publish(chunk).await?;
    }
    Ok(Submitted {
        id,
        published: envelopes.len(),
        nodes: node.tasks("").len(),
    })
}

/// Every node of canvas `id` with its state, and the canvas's state and final result.
pub async fn show(adapters: &Adapters, id: &str) -> OpsResult<CanvasView> {
    let record = adapters
        .backend
        .get(id)
        .await?
        .filter(|r| r.name == CANVAS_RECORD)
        .ok_or_else(|| OpsError::CanvasNotFound(id.to_string()))?;
    let doc = record
        .result
        .as_ref()
        .and_then(|r| r.get("canvas"))
        .cloned()
        .unwrap_or(Value::Null);
    let node = canvas::parse(&doc).map_err(|e| OpsError::Canvas(e.to_string()))?;
    let mut nodes = Vec::new();
    let mut failed = None;
    let docs = doc_paths(&node, "");
    let absorbed = super::canvas_summary::absorbed(&node, "");
    for ((path, _), (tpath, sig)) in docs.iter().zip(node.tasks("")) {
        let tid = task_id(id, &tpath);
        let rec = adapters.backend.get(&tid).await?;
        let state = rec
            .as_ref()
            .map_or("pending".to_string(), |r| r.state.to_string());
        let error = rec
            .as_ref()
            .and_then(|r| r.error.as_ref())
            .map(|e| format!("{}: {}", e.kind, e.message));
        let failed_here = rec
            .as_ref()
            .is_some_and(|r| matches!(r.state, TaskState::Failure | TaskState::Expired));
        if failed_here && failed.is_none() && !absorbed.contains(&tpath) {
            failed = Some(if path.is_empty() {
                tid.clone()
            } else {
                format!("{path} ({tid})")
            });
        }
        nodes.push(NodeView {
            path: path.clone(),
            task: sig.task.clone(),
            task_id: tid,
            state,
            error,
        });
    }
    let result = final_result(adapters, id, &node, "").await?;
    let revoked = adapters.revokes.get_revocation(id).await?.is_some()
        || nodes.iter().any(|n| n.state == "revoked");
    let state = if failed.is_some() {
        "failure"
    } else if result.is_some() {
        "success"
    } else if revoked {
        "revoked"
    } else if nodes.iter().any(|n| n.state != "pending") {
        "running"
    } else {
        "pending"
    };
    if !record.state.is_terminal() {
        repair(adapters, id, state, &result, &failed).await?;
    }
    Ok(CanvasView {
        id: id.to_string(),
        state: state.into(),
        result,
        failed,
        summary: super::canvas_summary::Summary::of(&nodes),
        nodes,
    })
}

/// Records a settled canvas's state when its record still says otherwise (the worker that
/// settled it stopped before writing it); the same write the worker makes, so it is written once.
async fn repair(
    adapters: &Adapters,
    id: &str,
    state: &str,
    result: &Option<Value>,
    failed: &Option<String>,
) -> OpsResult<()> {
    if stem_adapters::codec::cannot_sign() {
        // A verifier with public keys only: its record would be refused by every reader.
        return Ok(());
    }
    let outcome = match (state, result, failed) {
        ("failure", _, Some(node)) => Outcome::Failure {
            node: node.clone(),
            error: None,
        },
        ("success", Some(r), _) => Outcome::Success(r.clone()),
        ("revoked", _, _) => Outcome::Revoked {
            reason: "the canvas was revoked".into(),
        },
        _ => return Ok(()),
    };
    let settlement = Settlement {
        canvas_id: id.to_string(),
        outcome: Some(outcome),
        skipped: Vec::new(),
    };
    let ttl = crate::worker::WorkerConfig::DEFAULT_RESULT_TTL;
    settle::write_outcome(adapters, ttl, &settlement).await?;
    Ok(())
}

/// The canvas's final result, once every node it depends on succeeded.
async fn final_result(
    adapters: &Adapters,
    id: &str,
    node: &Node,
    path: &str,
) -> OpsResult<Option<Value>> {
    Ok(match node {
        Node::Task(_) => adapters
            .backend
            .get(&task_id(id, path))
            .await?
            .filter(|r| r.state == TaskState::Success)
            .map(|r| r.result.unwrap_or(Value::Null)),
        Node::Chain(n) => {
            Box::pin(final_result(
                adapters,
                id,
                &n[n.len() - 1],
                &canvas::child(path, n.len() - 1),
            ))
            .await?
        }
        Node::Chord { body, .. } => {
            Box::pin(final_result(adapters, id, body, &format!("{path}b"))).await?
        }
        Node::Group(n) => match adapters.backend.group_results(&group_id(id, path)).await? {
            Some(all) if all.len() == n.len() && all.iter().all(Option::is_some) => {
                Some(Value::Array(all.into_iter().flatten().collect()))
            }
            _ => None,
        },
    })
}

/// The task whose record is the canvas's final result, when one task gives it (not a group).
fn final_task(id: &str, node: &Node, path: &str) -> Option<String> {
    match node {
        Node::Task(_) => Some(task_id(id, path)),
        Node::Chain(n) => final_task(id, &n[n.len() - 1], &canvas::child(path, n.len() - 1)),
        Node::Chord { body, .. } => final_task(id, body, &format!("{path}b")),
        Node::Group(_) => None,
    }
}

/// Waits until canvas `id` succeeds, fails or is revoked, or `timeout` passes; returns its view.
/// Between looks it blocks on the final task's record (woken when it is written), so a long
/// canvas costs a full look only every couple of seconds.
pub async fn wait(
    adapters: &Adapters,
    id: &str,
    timeout: Option<Duration>,
) -> OpsResult<CanvasView> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let view = show(adapters, id).await?;
        let done = matches!(view.state.as_str(), "success" | "failure" | "revoked");
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if done || left.is_some_and(|l| l.is_zero()) {
            return Ok(view);
        }
        let slice = left.map_or(LOOK_EVERY, |l| l.min(LOOK_EVERY));
        let record = adapters.backend.get(id).await?;
        let doc = record
            .and_then(|r| r.result)
            .and_then(|r| r.get("canvas").cloned());
        let node = doc.as_ref().and_then(|d| canvas::parse(d).ok());
        match node.and_then(|n| final_task(id, &n, "")) {
            Some(last) => {
                adapters.backend.wait(&last, slice).await?;
            }
            None => tokio::time::sleep(slice.min(Duration::from_millis(250))).await,
        }
    }
}

/// Longest wait between two full looks at a canvas.
const LOOK_EVERY: Duration = Duration::from_secs(2);
