//! What operators and producers do to runs besides starting and reading them: emit an event
//! (every run waiting on its topic resumes with it, once), cancel a run (a running step's child
//! stopped as `revoke --terminate` stops a task), end one at a bound, rewind one to a step.

use super::workflows::{show, Emitted, RunView};
use super::{OpsError, OpsResult};
use crate::workflow::data::{self, Outcome, RunData};
use crate::workflow::publish;
use serde_json::Value;
use std::collections::BTreeMap;
use stem_adapters::workflow::RunState;
use stem_adapters::{Adapters, TaskEvent};
use stem_protocol::TaskError;

/// Emits `payload` on `topic`: every run waiting on it gets the event in its step and a resume.
/// An event nobody waits for is not kept.
pub async fn emit(adapters: &Adapters, topic: &str, payload: &Value) -> OpsResult<Emitted> {
    let count = topic.chars().count();
    if count == 0 || count > 500 || topic.chars().any(char::is_control) {
        return Err(OpsError::InvalidSpec {
            field: "topic".into(),
            message: format!("topic {topic:?}: must be 1 to 500 characters, no control characters"),
        });
    }
    let now = super::time::store_clock_ms();
    let woken = adapters
        .workflows
        .wf_emit(topic, &data::encode_event(topic, payload), now)
        .await?;
    // Each resume goes on in its run's own trace.
    let mut resumes = Vec::with_capacity(woken.len());
    for w in &woken {
        let headers = match adapters.workflows.wf_get(&w.run).await {
            Ok(Some(run)) => data::decode_run(&run)
                .map(|d| d.headers)
                .unwrap_or_default(),
            _ => BTreeMap::new(),
        };
        resumes.push(publish::resume(
            &w.run,
            &w.workflow,
            &w.queue,
            w.seq,
            None,
            &headers,
        ));
    }
    if !resumes.is_empty() {
        // Were this to fail, each woken run resumes at its timer instead (its step holds the
        // event already).
        adapters.broker.publish(&resumes).await?;
        let events: Vec<TaskEvent> = woken
            .iter()
            .zip(&resumes)
            .map(|(w, r)| TaskEvent {
                kind: "wf_step".into(),
                task_id: r.id.clone(),
                name: r.name.clone(),
                queue: w.queue.clone(),
                worker: String::new(),
                at: stem_protocol::now_ms(),
                data: serde_json::json!({"run": w.run, "workflow": w.workflow, "index": w.index,
                                         "kind": "event", "state": "done", "topic": topic}),
                sealed: None,
            })
            .collect();
        if let Err(e) = adapters.control.emit(&events).await {
            tracing::debug!("cannot emit {} event(s): {e}", events.len());
        }
    }
    Ok(Emitted {
        topic: topic.to_string(),
        resumed: woken.len(),
        runs: woken.into_iter().map(|w| w.run).collect(),
    })
}

/// Cancels a live run: it ends `cancelled`, its waiters go, a resume running it is stopped as
/// `revoke --terminate` stops a task, and a parent waiting for it is resumed.
pub async fn cancel(adapters: &Adapters, id: &str) -> OpsResult<RunView> {
    let outcome = Outcome {
        result: None,
        error: Some(TaskError::new("Cancelled", format!("run {id} was cancelled")).permanent()),
    };
    end(adapters, id, RunState::Cancelled, &outcome).await
}

/// Ends a live run in a final `state` (an operator's cancel, a time bound), unfenced.
pub async fn end(
    adapters: &Adapters,
    id: &str,
    state: RunState,
    outcome: &Outcome,
) -> OpsResult<RunView> {
    let now = super::time::store_clock_ms();
    let encoded = data::encode_outcome(id, outcome);
    let Some(before) = adapters
        .workflows
        .wf_finish(id, None, state, Some(&encoded), now)
        .await?
    else {
        let run = adapters
            .workflows
            .wf_get(id)
            .await?
            .ok_or_else(|| OpsError::RunNotFound(id.to_string()))?;
        return Err(OpsError::Workflow(format!(
            "run {id} has already ended: {}",
            run.state
        )));
    };
    if before.state == RunState::Running {
        if let Some(resume) = &before.resume_id {
            let mut request = super::revoke::RevokeRequest::new(resume.clone());
            request.terminate = true;
            request.force = true;
            request.reason = Some(format!("workflow run {id} {state}"));
            super::revoke::revoke(adapters, &request).await?;
        }
    }
    if let Ok(RunData {
        parent: Some(parent),
        headers,
        ..
    }) = data::decode_run(&before)
    {
        adapters
            .broker
            .publish(&[publish::nudge(&parent, &headers)])
            .await?;
    }
    show(adapters, id, false).await
}

/// Rewinds a run to the first step named `to`: that step and the ones after run again. A
/// running resume is stopped first.
pub async fn rewind(adapters: &Adapters, id: &str, to: &str) -> OpsResult<RunView> {
    let run = adapters
        .workflows
        .wf_get(id)
        .await?
        .ok_or_else(|| OpsError::RunNotFound(id.to_string()))?;
    let steps = adapters.workflows.wf_steps(id).await?;
    let Some(index) = steps.iter().find(|s| s.name == to).map(|s| s.index) else {
        let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        return Err(OpsError::Workflow(format!(
            "run {id} has no step {to:?} (its steps: {})",
            if names.is_empty() {
                "none yet".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    let now = super::time::store_clock_ms();
    let after = adapters
        .workflows
        .wf_rewind(id, index, now)
        .await?
        .ok_or_else(|| OpsError::RunNotFound(id.to_string()))?;
    if run.state == RunState::Running {
        if let Some(resume) = &run.resume_id {
            let mut request = super::revoke::RevokeRequest::new(resume.clone());
            request.terminate = true;
            request.force = true;
            request.reason = Some(format!("workflow run {id} rewound"));
            super::revoke::revoke(adapters, &request).await?;
        }
    }
    let headers = data::decode_run(&after)
        .map(|d| d.headers)
        .unwrap_or_default();
    let resume = publish::resume(
        id,
        &after.workflow,
        &after.queue,
        after.seq + 1,
        None,
        &headers,
    );
    adapters.broker.publish(&[resume]).await?;
    show(adapters, id, false).await
}
