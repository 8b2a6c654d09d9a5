//! `/v1/tasks`: enqueue one task, a JSON array of up to 10,000 or JSON lines (checked whole,
//! then one batch publish); a task's record, long-polled with `?wait=30s` through the result
//! backend's `wait`; the listing by state, task, queue and age; revoke; retry a failed task.

use super::error::ApiError;
use super::params::{body_of, duration_param, field_bool, field_str, int_param, object_body, only};
use super::AppState;
use crate::ops::results::{self, TaskStatus};
use crate::ops::retry;
use crate::ops::revoke::{self, RevokeRequest};
use crate::ops::specs::{self, Shape};
use crate::ops::time::parse_since;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use stem_adapters::backend::RecordCursor;
use stem_adapters::RecordFilter;
use stem_protocol::TaskState;

type Params = Query<HashMap<String, String>>;

pub async fn enqueue(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body_of(&state, body)?;
    let (shape, specs) = specs::parse_body(&body)?;
    let envelopes = specs::envelopes(shape, &specs, state.manifest.as_deref())?;
    let sent = specs::publish_all(&state.adapters, state.manifest.as_deref(), &envelopes).await?;
    Ok(Json(match shape {
        Shape::One => json!(sent[0]),
        Shape::Many => {
            let ids: Vec<&str> = sent.iter().map(|e| e.id.as_str()).collect();
            let duplicates: Vec<&str> = sent
                .iter()
                .filter(|e| e.duplicate)
                .map(|e| e.id.as_str())
                .collect();
            json!({"count": ids.len(), "ids": ids, "duplicates": duplicates})
        }
    }))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Json<TaskStatus>, ApiError> {
    only(&params, &["wait"])?;
    let status = match duration_param(&params, "wait")? {
        Some(wait) if !wait.is_zero() => {
            results::wait(&state.adapters, &id, Some(wait.min(state.max_wait)))
                .await?
                .status()
        }
        _ => results::status(&state.adapters, &id).await?,
    };
    Ok(Json(status))
}

pub async fn list(
    State(state): State<AppState>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    only(
        &params,
        &["state", "task", "queue", "since", "limit", "after"],
    )?;
    let bad = |name: &str, why: String| {
        ApiError::bad_request("invalid_parameter", format!("{name}: {why}"))
    };
    let mut filter = RecordFilter {
        name: params.get("task").cloned(),
        queue: params.get("queue").cloned(),
        ..Default::default()
    };
    if let Some(s) = params.get("state") {
        filter.state = Some(TaskState::parse(s).ok_or_else(|| {
            bad("state", format!("unknown state {s:?} (pending, received, started, retry, success, failure, revoked, expired, skipped)"))
        })?);
    }
    if let Some(s) = params.get("since") {
        filter.since = Some(parse_since(s).map_err(|e| bad("since", e))?);
    }
    if let Some(l) = int_param(&params, "limit", 1, stem_adapters::backend::MAX_LIST as i64)? {
        filter.limit = l as usize;
    }
    if let Some(c) = params.get("after") {
        filter.after = Some(RecordCursor::parse(c).map_err(|e| bad("after", e))?);
    }
    let (tasks, next) = results::page(&state.adapters, &filter).await?;
    Ok(Json(json!({
        "count": tasks.len(),
        "tasks": tasks,
        "next_cursor": next.map(|c| c.to_string()),
    })))
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<revoke::Revoked>, ApiError> {
    let body = object_body(&state, body, &["terminate", "reason", "force"])?;
    let mut request = RevokeRequest::new(id);
    request.terminate = field_bool(&body, "terminate")?.unwrap_or(false);
    request.force = field_bool(&body, "force")?.unwrap_or(false);
    request.reason = field_str(&body, "reason")?;
    Ok(Json(revoke::revoke(&state.adapters, &request).await?))
}

/// `POST /v1/tasks/{id}/retry`: the failed task enqueued again under a new id.
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    object_body(&state, body, &[])?;
    let sent = retry::retry(&state.adapters, state.manifest.as_deref(), &id).await?;
    Ok(Json(json!({"id": sent.id, "queue": sent.queue})))
}
