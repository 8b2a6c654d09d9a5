//! An operator's actions on one worker (admin tokens only): `POST /v1/workers/{worker}/shutdown`
//! (`{"mode": "warm" | "soft" | "hard"}`, warm when not said) and `.../pause` / `.../resume`
//! (`{"queue": Q}`, or every queue the worker consumes) — the worker's own pause, in its memory:
//! it stops fetching, other workers go on (a queue's stored pause is `/v1/queues/{queue}/pause`).

use super::error::ApiError;
use super::params::{field_str, object_body};
use super::workers::replies_json;
use super::AppState;
use crate::ops::control::{self, ShutdownMode, WorkerCommand, WorkerReplies};
use crate::ops::workers;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use std::time::Duration;

/// How long the worker gets to answer.
const REPLY_WINDOW: Duration = Duration::from_secs(2);

/// The live worker `id`'s queues, or a 404 naming the live workers.
async fn live_queues(state: &AppState, id: &str) -> Result<Vec<String>, ApiError> {
    let fleet = workers::list(&state.adapters, control::LIVE_LAPSE).await?;
    if let Some(w) = fleet.iter().find(|w| w.heartbeat.worker == id && !w.lapsed) {
        return Ok(w.heartbeat.queues.clone());
    }
    let live: Vec<&str> = fleet
        .iter()
        .filter(|w| !w.lapsed)
        .map(|w| w.heartbeat.worker.as_str())
        .collect();
    Err(ApiError::not_found(format!(
        "no live worker {id:?} (live: {})",
        if live.is_empty() {
            "none".to_string()
        } else {
            live.join(", ")
        }
    )))
}

fn answered(id: &str, replies: &WorkerReplies) -> Result<Value, ApiError> {
    let body = replies_json(replies);
    if body["replies"].get(id).is_none() {
        return Err(ApiError::new(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            "no_reply",
            format!("worker {id:?} did not answer within {REPLY_WINDOW:?}"),
        ));
    }
    Ok(body)
}

pub async fn shutdown(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = object_body(&state, body, &["mode"])?;
    let mode = match field_str(&body, "mode")?.as_deref() {
        None | Some("warm") => ShutdownMode::Warm,
        Some("soft") => ShutdownMode::Soft,
        Some("hard") => ShutdownMode::Hard,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_field",
                format!("mode: unknown shutdown mode {other:?} (warm, soft or hard)"),
            ))
        }
    };
    live_queues(&state, &id).await?;
    let command = WorkerCommand::Shutdown { mode };
    let replies = control::send(&state.adapters, &command, Some(&id), REPLY_WINDOW).await?;
    let mut out = answered(&id, &replies)?;
    out["mode"] = json!(mode.name());
    Ok(Json(out))
}

async fn pause_or_resume(
    state: &AppState,
    id: &str,
    pause: bool,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = object_body(state, body, &["queue"])?;
    let consumed = live_queues(state, id).await?;
    let queues = match field_str(&body, "queue")? {
        Some(q) if consumed.contains(&q) => vec![q],
        Some(q) => {
            return Err(ApiError::bad_request(
                "invalid_field",
                format!(
                    "queue: worker {id:?} does not consume {q:?} (it consumes {})",
                    consumed.join(", ")
                ),
            ))
        }
        None => consumed,
    };
    let mut last = None;
    for queue in &queues {
        let command = if pause {
            WorkerCommand::Pause {
                queue: queue.clone(),
            }
        } else {
            WorkerCommand::Resume {
                queue: queue.clone(),
            }
        };
        let replies = control::send(&state.adapters, &command, Some(id), REPLY_WINDOW).await?;
        last = Some(answered(id, &replies)?);
    }
    let mut out = last.unwrap_or_else(|| json!({}));
    out["worker"] = json!(id);
    out["queues"] = json!(queues);
    out["paused"] = json!(pause);
    Ok(Json(out))
}

pub async fn pause(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    pause_or_resume(&state, &id, true, body).await
}

pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    pause_or_resume(&state, &id, false, body).await
}
