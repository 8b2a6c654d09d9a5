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

pub use super::workflow_control::{cancel, emit, end, rewind};
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

/// Starts a run of `start.workflow`: the run is stored, then its first resume published (a
/// resume must never find no run). A publish that fails ends the run `failed`; a start with an
/// id that finds its run never resumed (a crash between the two) publishes its first resume
/// again (a duplicate resume of the same sequence is stale, so it runs once).
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
    if created || (stored.seq == 0 && !stored.state.is_final()) {
        let first = match created {
            true => first,
            false => {
                let headers = data::decode_run(&stored)
                    .map(|d| d.headers)
                    .unwrap_or_default();
                publish::resume(
                    &stored.id,
                    &stored.workflow,
                    &stored.queue,
                    1,
                    None,
                    &headers,
                )
            }
        };
        if let Err(e) = adapters.broker.publish(std::slice::from_ref(&first)).await {
            if created {
                let outcome = Outcome {
                    result: None,
                    error: Some(TaskError::new(
                        "NotStarted",
                        format!("its first resume could not be published: {e}"),
                    )),
                };
                let encoded = data::encode_outcome(&id, &outcome);
                let _ = adapters
                    .workflows
                    .wf_finish(&id, None, RunState::Failed, Some(&encoded), now)
                    .await;
            }
            return Err(e.into());
        }
    }
    Ok(Started {
        run: stored.id,
        workflow: stored.workflow,
        state: stored.state,
        created,
    })
}

fn check_id(id: &str) -> OpsResult<()> {
    let count = id.chars().count();
    if count == 0 || count > 200 || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(OpsError::InvalidSpec {
            field: "id".into(),
            message: format!(
                "run id {id:?}: must be 1 to 200 characters, no spaces or control characters"
            ),
        });
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
