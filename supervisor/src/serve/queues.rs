//! `/v1/queues`: each queue's ready, delayed, leased and dead counts, whether it is paused and
//! how many live workers consume it; the tasks it holds (waiting, scheduled, retrying, leased);
//! pausing and resuming a queue for every worker (stored in the broker, as `stem queue
//! pause|resume`, and told to the live workers at once over the control plane).

use super::error::ApiError;
use super::params::{duration_param, int_param, only};
use super::workers::replies_json;
use super::AppState;
use crate::ops::control::{self, WorkerCommand};
use crate::ops::queue_tasks::{self, QueueList, MAX_TASKS};
use crate::ops::queues::{self, QueueSize};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// How long live workers get to answer a pause or resume when the caller does not say.
const REPLY_WINDOW: Duration = Duration::from_secs(2);

pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let sizes = queues::sizes(&state.adapters, None).await?;
    Ok(Json(json!({"queues": sizes})))
}

pub async fn show(
    State(state): State<AppState>,
    Path(queue): Path<String>,
) -> Result<Json<QueueSize>, ApiError> {
    let mut sizes = queues::sizes(&state.adapters, Some(vec![queue])).await?;
    Ok(Json(sizes.remove(0)))
}

/// `GET /v1/queues/{queue}/tasks?state=waiting|scheduled|retrying|leased&limit=N`.
pub async fn tasks(
    State(state): State<AppState>,
    Path(queue): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    only(&params, &["state", "limit"])?;
    let list = match params.get("state") {
        None => QueueList::Waiting,
        Some(s) => QueueList::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("state: unknown list {s:?} (waiting, scheduled, retrying or leased)"),
            )
        })?,
    };
    let limit = int_param(&params, "limit", 1, MAX_TASKS as i64)?.unwrap_or(100) as usize;
    let tasks = queue_tasks::tasks(&state.adapters, &queue, list, limit).await?;
    Ok(Json(json!({
        "queue": queue,
        "state": list,
        "count": tasks.len(),
        "tasks": tasks,
    })))
}

async fn tell(
    state: &AppState,
    command: WorkerCommand,
    params: &HashMap<String, String>,
) -> Result<Json<Value>, ApiError> {
    only(params, &["timeout"])?;
    let timeout = duration_param(params, "timeout")?
        .unwrap_or(REPLY_WINDOW)
        .min(state.max_wait);
    let (WorkerCommand::Pause { queue } | WorkerCommand::Resume { queue }) = &command else {
        unreachable!("only pause and resume are told here");
    };
    let routed = state
        .manifest
        .as_ref()
        .map(|m| m.manifest.queues())
        .unwrap_or_default();
    let paused = matches!(command, WorkerCommand::Pause { .. });
    let stored = queues::set_paused(&state.adapters, queue, paused, &routed).await?;
    let replies = control::send(&state.adapters, &command, None, timeout).await?;
    let mut body = replies_json(&replies);
    body["queue"] = json!(stored.queue);
    body["paused"] = json!(stored.paused);
    body["paused_queues"] = json!(stored.paused_queues);
    Ok(Json(body))
}

pub async fn pause(
    State(state): State<AppState>,
    Path(queue): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    tell(&state, WorkerCommand::Pause { queue }, &params).await
}

pub async fn resume(
    State(state): State<AppState>,
    Path(queue): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    tell(&state, WorkerCommand::Resume { queue }, &params).await
}
