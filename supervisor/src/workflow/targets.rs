//! What a step waits for besides time and events: a task it called (any language, published
//! with the id `RUN:INDEX`, so a replay's publish is deduplicated by the one-live-id rule) or a
//! child run (started with that id, idempotently). Either's end nudges the waiting run; here is
//! also how an ended target is read back into the step's entry.

use super::data::{self, Parent};
use super::publish;
use crate::manifest::LoadedManifest;
use crate::ops::enqueue::{self, EnqueueOptions, Start};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use stem_adapters::workflow::RunState;
use stem_adapters::Adapters;
use stem_protocol::workflow::{call_id, JournalEntry, StepState};
use stem_protocol::{TaskError, TaskState};

/// A `call` op's task.
pub struct Call<'a> {
    pub task: &'a str,
    pub args: &'a [Value],
    pub kwargs: &'a Map<String, Value>,
    pub options: &'a Map<String, Value>,
}

/// A `child` op's workflow, arguments and keyword arguments.
pub type Child<'a> = (&'a str, &'a Vec<Value>, &'a Map<String, Value>);

/// How a target ended.
pub enum Ended {
    Result(Value),
    Error(TaskError),
}

fn unavailable(e: impl std::fmt::Display) -> TaskError {
    TaskError::new("StoreUnavailable", e.to_string())
}

fn bad(message: String) -> TaskError {
    TaskError::new("BadStep", message).permanent()
}

/// The id for a new target of step `index`: `RUN:INDEX`, unless a target of that id already
/// exists (the step was rewound and runs again), then a fresh suffix.
pub async fn fresh_id(
    adapters: &Adapters,
    run: &str,
    index: u32,
    child: bool,
) -> Result<String, TaskError> {
    let id = call_id(run, index);
    let taken = if child {
        adapters
            .workflows
            .wf_get(&id)
            .await
            .map_err(unavailable)?
            .is_some()
    } else {
        adapters
            .backend
            .get(&id)
            .await
            .map_err(unavailable)?
            .is_some()
    };
    if !taken {
        return Ok(id);
    }
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    Ok(format!("{id}.{}", &nonce[..8]))
}

/// How the target ended, or `None` while it has not (or was never published: a replay
/// publishes it again).
pub async fn ended(
    adapters: &Adapters,
    target: &str,
    child: bool,
) -> Result<Option<Ended>, TaskError> {
    if child {
        let Some(run) = adapters
            .workflows
            .wf_get(target)
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        if !run.state.is_final() {
            return Ok(None);
        }
        let outcome = data::decode_outcome(&run).map_err(bad)?;
        return Ok(Some(match (run.state, outcome.result, outcome.error) {
            (RunState::Completed, result, _) => Ended::Result(result.unwrap_or(Value::Null)),
            (_, _, Some(e)) => Ended::Error(e),
            (state, _, None) => Ended::Error(TaskError::new(
                "ChildRunEnded",
                format!("child run {target} ended {state}"),
            )),
        }));
    }
    let Some(record) = adapters.backend.get(target).await.map_err(unavailable)? else {
        return Ok(None);
    };
    Ok(match record.state {
        TaskState::Success => Some(Ended::Result(record.result.unwrap_or(Value::Null))),
        s if s.is_terminal() => {
            Some(Ended::Error(record.error.unwrap_or_else(|| {
                TaskError::new("CallEnded", format!("task {target} ended {s}"))
            })))
        }
        _ => None,
    })
}

/// Writes how the target ended into its step's entry.
pub fn journal_end(e: &mut JournalEntry, ended: Ended, now: i64) {
    match ended {
        Ended::Result(v) => {
            e.state = StepState::Done;
            e.result = Some(v);
        }
        Ended::Error(err) => {
            e.state = StepState::Failed;
            e.error = Some(err);
        }
    }
    e.finished_at = Some(now);
}

/// Publishes the called task with id `target`, its options checked as an enqueue's.
pub async fn publish_call(
    adapters: &Adapters,
    manifest: &LoadedManifest,
    target: &str,
    call: Call<'_>,
    parent: &Parent,
    trace: &BTreeMap<String, String>,
) -> Result<(), TaskError> {
    let mut options = EnqueueOptions::new(call.task);
    options.args = call.args.to_vec();
    options.kwargs = call.kwargs.clone();
    options.id = Some(target.to_string());
    options.headers = publish::parent_headers(parent);
    options.headers.extend(trace.clone());
    for (key, value) in call.options {
        let wrong = || {
            bad(format!(
                "call {:?}: option {key:?} has a wrong value: {value}",
                call.task
            ))
        };
        match key.as_str() {
            "queue" => options.queue = Some(value.as_str().ok_or_else(wrong)?.to_string()),
            "priority" => options.priority = value.as_u64().filter(|p| *p <= 9).ok_or_else(wrong)? as u8,
            "max_retries" => options.max_retries = Some(value.as_u64().ok_or_else(wrong)? as u32),
            "countdown" => {
                let secs = value.as_f64().filter(|s| *s >= 0.0 && s.is_finite()).ok_or_else(wrong)?;
                options.start = Start::After(Duration::from_secs_f64(secs));
            }
            "time_limit" | "soft_time_limit" => {
                let secs = value.as_f64().filter(|s| *s > 0.0 && s.is_finite()).ok_or_else(wrong)?;
                let limit = Some(Duration::try_from_secs_f64(secs).map_err(|_| wrong())?);
                if key == "time_limit" {
                    options.overrides.time_limit = limit;
                } else {
                    options.overrides.soft_time_limit = limit;
                }
            }
            other => {
                return Err(bad(format!(
                    "call {:?}: unknown option {other:?} (known: queue, priority, max_retries, countdown, time_limit, soft_time_limit)",
                    call.task
                )))
            }
        }
    }
    let env = enqueue::envelope(&options, Some(manifest))
        .map_err(|e| bad(format!("call {:?}: {e}", call.task)))?;
    match enqueue::publish(adapters, Some(manifest), &env).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == crate::ops::OpsErrorKind::Unavailable => Err(unavailable(e)),
        Err(e) => Err(bad(format!("call {:?}: {e}", call.task))),
    }
}

/// Starts the child run `target` (idempotent by its id).
pub async fn start_child(
    adapters: &Adapters,
    manifest: &LoadedManifest,
    target: &str,
    (workflow, args, kwargs): Child<'_>,
    parent: &Parent,
    trace: &BTreeMap<String, String>,
) -> Result<(), TaskError> {
    let start = crate::ops::workflows::StartRun {
        workflow: workflow.to_string(),
        args: args.clone(),
        kwargs: kwargs.clone(),
        id: Some(target.to_string()),
        parent: Some(parent.clone()),
        headers: trace.clone(),
    };
    match crate::ops::workflows::start(adapters, manifest, &start).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == crate::ops::OpsErrorKind::Unavailable => Err(unavailable(e)),
        Err(e) => Err(bad(format!("child workflow {workflow:?}: {e}"))),
    }
}
