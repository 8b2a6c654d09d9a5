//! `POST /v1/bulk/tasks`: one action (retry, revoke, terminate, delete) over up to 1,000 task
//! ids, each answered on its own ([`crate::ops::bulk`]). Admin tokens only, like every POST.

use super::error::ApiError;
use super::params::{field_array, field_str, object_body};
use super::AppState;
use crate::ops::bulk::{self, BulkAction, MAX_IDS};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_field", format!("{field}: {why}"))
}

pub async fn tasks(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = object_body(&state, body, &["action", "ids"])?;
    let name = field_str(&body, "action")?
        .ok_or_else(|| bad("action", "missing (retry, revoke, terminate or delete)"))?;
    let action = BulkAction::parse(&name).ok_or_else(|| {
        bad(
            "action",
            format!("unknown action {name:?} (retry, revoke, terminate or delete)"),
        )
    })?;
    let ids = field_array(&body, "ids")?.ok_or_else(|| bad("ids", "missing"))?;
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(bad(
            "ids",
            format!("give 1 to {MAX_IDS} task ids, not {}", ids.len()),
        ));
    }
    let ids: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, v)| match v.as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(bad(&format!("ids[{i}]"), "expected a non-empty task id")),
        })
        .collect::<Result<_, _>>()?;
    let out = bulk::apply(&state.adapters, state.manifest.as_deref(), action, &ids).await?;
    let done = out.iter().filter(|o| o.ok).count();
    Ok(Json(json!({
        "action": name,
        "done": done,
        "refused": out.len() - done,
        "results": out,
    })))
}
