//! `GET /v1/stats/tasks?since=1h&task=NAME`: per task type, the records by state, failure rate,
//! run time and queue wait (p50, p95), and the same per minute ([`crate::ops::task_stats`]).

use super::error::ApiError;
use super::params::only;
use super::AppState;
use crate::ops::task_stats::{self, Stats};
use crate::ops::time::parse_since;
use axum::extract::{Query, State};
use axum::Json;
use std::collections::HashMap;

pub async fn tasks(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Stats>, ApiError> {
    only(&params, &["since", "task"])?;
    let since = parse_since(params.get("since").map(String::as_str).unwrap_or("1h"))
        .map_err(|e| ApiError::bad_request("invalid_parameter", format!("since: {e}")))?;
    let task = params.get("task").filter(|t| !t.is_empty()).cloned();
    Ok(Json(task_stats::stats(&state.adapters, since, task).await?))
}
