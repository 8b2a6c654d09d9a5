//! `/v1/schedules`: the stored schedules with their next fire, and an operator's actions on one —
//! enable, disable (as `stem schedule enable|disable`) and run now (its task published once,
//! outside the timetable).

use super::error::ApiError;
use super::params::object_body;
use super::AppState;
use crate::ops::schedules::{self, ScheduleView};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let all = schedules::list(&state.adapters).await?;
    Ok(Json(json!({"count": all.len(), "schedules": all})))
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ScheduleView>, ApiError> {
    Ok(Json(schedules::show(&state.adapters, &id).await?))
}

async fn enabled(
    state: &AppState,
    id: &str,
    on: bool,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ScheduleView>, ApiError> {
    object_body(state, body, &[])?;
    Ok(Json(schedules::set_enabled(&state.adapters, id, on).await?))
}

pub async fn enable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ScheduleView>, ApiError> {
    enabled(&state, &id, true, body).await
}

pub async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ScheduleView>, ApiError> {
    enabled(&state, &id, false, body).await
}

/// `POST /v1/schedules/{id}/run`: the schedule's task published now; the answer names it.
pub async fn run(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    object_body(&state, body, &[])?;
    let sent = schedules::run_now(&state.adapters, state.manifest.as_deref(), &id).await?;
    Ok(Json(
        json!({"id": sent.id, "queue": sent.queue, "schedule": id}),
    ))
}
