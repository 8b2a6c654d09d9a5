//! `/v1/workflows`: start a run of a workflow the manifest declares (idempotent by id), list
//! runs (by state, name, paged by creation time), show one with its steps (long-polled with
//! `?wait=30` until it ends), cancel and rewind it, list event waiters and count runs by state;
//! and `POST /v1/events/{topic}`, which emits an event to the runs waiting on the topic. Each
//! calls [`crate::ops::workflows`], as `stem wf` does.

use super::error::ApiError;
use super::params::{
    duration_param, field_array, field_object, field_str, int_param, object_body, only,
};
use super::AppState;
use crate::ops::workflows::{self, Emitted, RunView, StartRun, Started};
use crate::ops::OpsError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use stem_adapters::workflow::{RunFilter, RunState, RUN_STATES};

/// Runs listed when the caller does not say how many.
pub const DEFAULT_LIMIT: i64 = 50;
/// The most runs (or waiters) one request lists.
pub const MAX_LIMIT: i64 = 1000;
/// Waiters listed when the caller does not say how many (as `stem wf waiters`).
const DEFAULT_WAITERS: i64 = 100;

type Params = Query<HashMap<String, String>>;

/// `state` parsed, naming the known states when it is not one.
pub fn parse_state(s: &str) -> Result<RunState, ApiError> {
    RunState::parse(s).ok_or_else(|| {
        let known: Vec<&str> = RUN_STATES.iter().map(RunState::as_str).collect();
        ApiError::bad_request(
            "invalid_parameter",
            format!("state: unknown state {s:?} ({})", known.join(", ")),
        )
    })
}

pub async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let body = object_body(&state, body, &["args", "kwargs", "id"])?;
    let start = StartRun {
        args: field_array(&body, "args")?.unwrap_or_default(),
        kwargs: field_object(&body, "kwargs")?.unwrap_or_default(),
        id: field_str(&body, "id")?,
        workflow: name,
        ..StartRun::default()
    };
    let Some(manifest) = state.manifest.as_deref() else {
        return Err(OpsError::UnknownWorkflow(format!(
            "unknown workflow {:?}: this server has no manifest (workflows are declared in \
             stem.toml as [workflows.NAME]; start it with --manifest)",
            start.workflow
        ))
        .into());
    };
    let started = workflows::start(&state.adapters, manifest, &start).await?;
    let status = if started.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(started)))
}

pub async fn list(
    State(state): State<AppState>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    only(&params, &["state", "name", "limit", "before"])?;
    let filter = RunFilter {
        state: params.get("state").map(|s| parse_state(s)).transpose()?,
        workflow: params.get("name").cloned(),
        before: int_param(&params, "before", 0, i64::MAX)?,
        limit: int_param(&params, "limit", 1, MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT) as usize,
    };
    let runs = workflows::list(&state.adapters, &filter).await?;
    Ok(Json(json!({ "runs": runs })))
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Json<RunView>, ApiError> {
    only(&params, &["wait"])?;
    let view = match duration_param(&params, "wait")? {
        Some(wait) if !wait.is_zero() => {
            workflows::wait(&state.adapters, &id, Some(wait.min(state.max_wait))).await?
        }
        _ => workflows::show(&state.adapters, &id, true).await?,
    };
    Ok(Json(view))
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RunView>, ApiError> {
    object_body(&state, body, &[])?;
    Ok(Json(workflows::cancel(&state.adapters, &id).await?))
}

pub async fn rewind(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RunView>, ApiError> {
    let body = object_body(&state, body, &["to"])?;
    let to = field_str(&body, "to")?.ok_or_else(|| {
        ApiError::bad_request(
            "invalid_field",
            "to: required: the name of the step to run again from",
        )
    })?;
    Ok(Json(workflows::rewind(&state.adapters, &id, &to).await?))
}

pub async fn waiters(
    State(state): State<AppState>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    only(&params, &["topic", "limit"])?;
    let limit = int_param(&params, "limit", 1, MAX_LIMIT)?.unwrap_or(DEFAULT_WAITERS) as usize;
    let topic = params.get("topic").map(String::as_str);
    let waiters = workflows::waiters(&state.adapters, topic, limit).await?;
    Ok(Json(json!({ "waiters": waiters })))
}

/// Runs by state, every state named (0 for none).
pub async fn counts(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut counts = workflows::counts(&state.adapters).await?;
    for s in RUN_STATES {
        counts.entry(s.as_str().to_string()).or_insert(0);
    }
    Ok(Json(json!({ "counts": counts })))
}

pub async fn emit(
    State(state): State<AppState>,
    Path(topic): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Emitted>, ApiError> {
    let body = object_body(&state, body, &["payload"])?;
    let payload = body.get("payload").cloned().unwrap_or(Value::Null);
    Ok(Json(
        workflows::emit(&state.adapters, &topic, &payload).await?,
    ))
}
