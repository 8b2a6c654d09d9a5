//! `/v1/workers`: live workers from their heartbeats (lapsed ones flagged), their counters
//! summed, and `ping`, `inspect` and `stats` asked of one worker or all over the control plane.

use super::error::ApiError;
use super::params::{duration_param, only};
use super::AppState;
use crate::ops::control::{self, WorkerCommand, WorkerReplies};
use crate::ops::workers;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const DEFAULT_LAPSE: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

type Params = Query<HashMap<String, String>>;

/// Replies as JSON: the command and each worker's answer by id.
pub fn replies_json(replies: &WorkerReplies) -> Value {
    json!({"command": replies.command, "replies": replies.by_worker()})
}

pub async fn list(
    State(state): State<AppState>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    only(&params, &["lapse"])?;
    let lapse = duration_param(&params, "lapse")?.unwrap_or(DEFAULT_LAPSE);
    let list = workers::list(&state.adapters, lapse).await?;
    Ok(Json(json!({"workers": list})))
}

pub async fn metrics(State(state): State<AppState>) -> Result<Json<workers::Metrics>, ApiError> {
    Ok(Json(workers::metrics(&state.adapters).await?))
}

pub async fn command(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    only(&params, &["worker", "timeout"])?;
    let command = match name.as_str() {
        "ping" => WorkerCommand::Ping,
        "inspect" => WorkerCommand::Inspect,
        "stats" => WorkerCommand::Stats,
        other => {
            return Err(ApiError::not_found(format!(
                "no worker command {other:?} (ping, inspect, stats)"
            )))
        }
    };
    let timeout = duration_param(&params, "timeout")?
        .unwrap_or(DEFAULT_TIMEOUT)
        .min(state.max_wait);
    let worker = params.get("worker").map(String::as_str);
    let replies = control::send(&state.adapters, &command, worker, timeout).await?;
    Ok(Json(replies_json(&replies)))
}
