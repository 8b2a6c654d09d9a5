//! Durable workflow runs as operators and producers see them: start a run (idempotent by id),
//! show one with its journal (or wait for it to end), list runs, list the waiters of event
//! topics, emit an event, cancel a run and rewind one to a step. The CLI (`stem wf`) and the
//! HTTP API call these.

use super::{OpsError, OpsResult};
use crate::manifest::LoadedManifest;
use crate::workflow::data::{self, Outcome, Parent, RunData};
use crate::workflow::publish;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use stem_adapters::workflow::{RunFilter, RunState, Waiter, WfRun};
use stem_adapters::Adapters;
use stem_protocol::workflow::{task_name, JournalEntry};
use stem_protocol::TaskError;

/// What starting a run needs.
#[derive(Debug, Clone, Default)]
pub struct StartRun {
    pub workflow: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
    /// The run's id: given, starting is idempotent (a second start returns the first run).
    pub id: Option<String>,
    pub parent: Option<Parent>,
    pub headers: BTreeMap<String, String>,
}

/// A started (or found) run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Started {
    pub run: String,
    pub workflow: String,
    pub state: RunState,
    /// False when a run with the id existed: nothing was started.
    pub created: bool,
}

/// A run as shown: its state, arguments, outcome and (for one run) its journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunView {
    pub id: String,
    pub workflow: String,
    pub version: u32,
    pub queue: String,
    pub state: RunState,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspended_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wake_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// Resumes that claimed the run so far.
    pub resumes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<JournalEntry>>,
    /// Why a stored part could not be read (a signature refused, a sealed value without keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// An emitted event and the runs it resumed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Emitted {
    pub topic: String,
    pub resumed: usize,
    pub runs: Vec<String>,
}

fn unknown_workflow(manifest: &LoadedManifest, name: &str) -> OpsError {
    let known: Vec<&str> = manifest
        .manifest
        .workflows
        .keys()
        .map(String::as_str)
        .collect();
    OpsError::UnknownWorkflow(format!(
        "unknown workflow {name:?}: {} declares {}",
        manifest.path.display(),
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    ))
}

/// Starts a run of `start.workflow`: the run is stored, then its first resume published (the
/// other order lets a quick worker claim the resume before the run exists, which leaves the run
/// waiting for a resume that never comes). A crash between the two leaves a run nothing has
/// claimed (`resumes` 0): starting it again with its id publishes the resume again.
pub async fn start(
    adapters: &Adapters,
    manifest: &LoadedManifest,
    start: &StartRun,
) -> OpsResult<Started> {
    let spec = manifest
        .manifest
        .workflows
        .get(&start.workflow)
        .ok_or_else(|| unknown_workflow(manifest, &start.workflow))?;
    let queue = manifest
        .effective(&task_name(&start.workflow))
        .map(|t| t.queue)
        .ok_or_else(|| unknown_workflow(manifest, &start.workflow))?;
    if let Some(id) = &start.id {
        check_id(id)?;
        if let Some(existing) = adapters.workflows.wf_get(id).await? {
            if existing.seq > 0 || existing.state.is_final() {
                return Ok(Started {
                    run: existing.id,
                    workflow: existing.workflow,
                    state: existing.state,
                    created: false,
                });
            }
        }
    }
    let id = start.id.clone().unwrap_or_else(stem_protocol::new_task_id);
    let mut headers = start.headers.clone();
    super::enqueue::with_traceparent(&mut headers);
    let run_data = RunData {
        args: start.args.clone(),
        kwargs: start.kwargs.clone(),
        parent: start.parent.clone(),
        headers: headers.clone(),
    };
    let now = super::time::store_clock_ms();
    let run = WfRun {
        id: id.clone(),
        workflow: start.workflow.clone(),
        version: spec.version(),
        queue: queue.clone(),
        state: RunState::Running,
        data: data::encode_run(&id, &run_data),
        outcome: None,
        seq: 0,
        resume_id: None,
        generation: 0,
        created_at: now,
        updated_at: now,
        suspended_at: None,
        wake_at: None,
        finished_at: None,
    };
    let first = publish::resume(&id, &start.workflow, &queue, 1, None, &headers);
    super::enqueue::check_payload(adapters, &first)?;
    let (stored, created) = adapters.workflows.wf_start(&run).await?;
    if stored.seq == 0 && !stored.state.is_final() {
        adapters
            .broker
            .publish(std::slice::from_ref(&first))
            .await?;
    }
    Ok(Started {
        run: stored.id,
        workflow: stored.workflow,
        state: stored.state,
        created,
    })
}

fn check_id(id: &str) -> OpsResult<()> {
    if id.is_empty() || id.len() > 200 || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(OpsError::Workflow(format!(
            "run id {id:?}: must be 1 to 200 characters, no spaces or control characters"
        )));
    }
    Ok(())
}

/// A run as shown, with its journal when `steps`.
pub async fn show(adapters: &Adapters, id: &str, steps: bool) -> OpsResult<RunView> {
    let run = adapters
        .workflows
        .wf_get(id)
        .await?
        .ok_or_else(|| OpsError::RunNotFound(id.to_string()))?;
    let mut view = view(&run);
    if steps {
        let mut entries = Vec::new();
        for s in adapters.workflows.wf_steps(id).await? {
            match data::entry(&s) {
                Ok(e) => entries.push(e),
                Err(e) => view.unreadable = Some(format!("step {}: {e}", s.index)),
            }
        }
        view.steps = Some(entries);
    }
    Ok(view)
}

/// The run with its journal once it has ended, or as it stands when `timeout` passes: the
/// store is read again after a pause that doubles from 20 ms to 500 ms.
pub async fn wait(adapters: &Adapters, id: &str, timeout: Option<Duration>) -> OpsResult<RunView> {
    let until = timeout.map(|t| Instant::now() + t);
    let mut pause = Duration::from_millis(20);
    loop {
        let view = show(adapters, id, true).await?;
        if view.state.is_final() || until.is_some_and(|u| Instant::now() >= u) {
            return Ok(view);
        }
        let left = until.map_or(pause, |u| u.saturating_duration_since(Instant::now()));
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// A run's view without its journal.
pub fn view(run: &WfRun) -> RunView {
    let mut unreadable = None;
    let d = data::decode_run(run).unwrap_or_else(|e| {
        unreadable = Some(format!("arguments: {e}"));
        RunData::default()
    });
    let o = data::decode_outcome(run).unwrap_or_else(|e| {
        unreadable = Some(format!("outcome: {e}"));
        Outcome::default()
    });
    RunView {
        id: run.id.clone(),
        workflow: run.workflow.clone(),
        version: run.version,
        queue: run.queue.clone(),
        state: run.state,
        args: d.args,
        kwargs: d.kwargs,
        result: o.result,
        error: o.error,
        parent: d.parent.map(|p| p.run),
        created_at: run.created_at,
        updated_at: run.updated_at,
        suspended_at: run.suspended_at,
        wake_at: run.wake_at,
        finished_at: run.finished_at,
        resumes: run.seq,
        steps: None,
        unreadable,
    }
}

/// Runs, newest first.
pub async fn list(adapters: &Adapters, filter: &RunFilter) -> OpsResult<Vec<RunView>> {
    Ok(adapters
        .workflows
        .wf_list(filter)
        .await?
        .iter()
        .map(view)
        .collect())
}

/// Runs by state.
pub async fn counts(adapters: &Adapters) -> OpsResult<BTreeMap<String, u64>> {
    Ok(adapters
        .workflows
        .wf_counts()
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), n))
        .collect())
}

pub async fn waiters(
    adapters: &Adapters,
    topic: Option<&str>,
    limit: usize,
) -> OpsResult<Vec<Waiter>> {
    Ok(adapters.workflows.wf_waiters(topic, limit).await?)
}

/// Emits `payload` on `topic`: every run waiting on it gets the event in its step and a resume.
/// An event nobody waits for is not kept.
pub async fn emit(adapters: &Adapters, topic: &str, payload: &Value) -> OpsResult<Emitted> {
    if topic.is_empty() || topic.len() > 500 || topic.chars().any(char::is_control) {
        return Err(OpsError::Workflow(format!(
            "topic {topic:?}: must be 1 to 500 characters, no control characters"
        )));
    }
    let now = super::time::store_clock_ms();
    let woken = adapters
        .workflows
        .wf_emit(topic, &data::encode_event(topic, payload), now)
        .await?;
    let mut headers = BTreeMap::new();
    super::enqueue::with_traceparent(&mut headers);
    let resumes: Vec<_> = woken
        .iter()
        .map(|w| publish::resume(&w.run, &w.workflow, &w.queue, w.seq, None, &headers))
        .collect();
    if !resumes.is_empty() {
        // Were this to fail, each woken run resumes at its timer instead (its step holds the
        // event already).
        adapters.broker.publish(&resumes).await?;
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
