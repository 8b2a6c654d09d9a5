//! `/v1/queues/{queue}/dead-letters`: list, show, replay (all, by id, since a time, up to a
//! limit; `dry_run` shows the plan) and purge (`dry_run` counts), as `stem dlq` does.

use super::error::ApiError;
use super::params::{field_bool, field_str, field_usize, int_param, object_body, only};
use super::AppState;
use crate::ops::dlq::{self, ReplaySelection};
use crate::ops::time::parse_since;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use stem_adapters::backend::MAX_LIST;
use stem_adapters::DeadLetter;

const DEFAULT_LIMIT: usize = 100;

pub async fn list(
    State(state): State<AppState>,
    Path(queue): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    only(&params, &["limit"])?;
    let limit =
        int_param(&params, "limit", 1, MAX_LIST as i64)?.map_or(DEFAULT_LIMIT, |n| n as usize);
    let letters = dlq::list(&state.adapters, &queue, limit).await?;
    Ok(Json(json!({"queue": queue, "dead_letters": letters})))
}

pub async fn show(
    State(state): State<AppState>,
    Path((queue, id)): Path<(String, String)>,
) -> Result<Json<DeadLetter>, ApiError> {
    Ok(Json(dlq::show(&state.adapters, &queue, &id).await?))
}

pub async fn replay(
    State(state): State<AppState>,
    Path(queue): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = object_body(&state, body, &["id", "limit", "since", "dry_run"])?;
    let since = field_str(&body, "since")?
        .map(|s| parse_since(&s))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_field", format!("since: {e}")))?;
    let selection = ReplaySelection {
        queue,
        limit: field_usize(&body, "limit")?.unwrap_or(usize::MAX),
        id: field_str(&body, "id")?,
        since,
    };
    let plan = dlq::plan_replay(&state.adapters, &selection).await?;
    let skipped: Vec<&str> = plan.not_replayable.iter().map(|l| l.id.as_str()).collect();
    if field_bool(&body, "dry_run")?.unwrap_or(false) {
        let would: Vec<&str> = plan.replayable.iter().map(|l| l.id.as_str()).collect();
        return Ok(Json(
            json!({"dry_run": true, "would_replay": would, "not_replayable": skipped}),
        ));
    }
    let done = dlq::replay(&state.adapters, &plan).await?;
    Ok(Json(
        json!({"dry_run": false, "replayed": done, "not_replayable": skipped}),
    ))
}

pub async fn purge(
    State(state): State<AppState>,
    Path(queue): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<dlq::Purged>, ApiError> {
    let body = object_body(&state, body, &["dry_run"])?;
    let dry_run = field_bool(&body, "dry_run")?.unwrap_or(false);
    Ok(Json(dlq::purge(&state.adapters, &queue, dry_run).await?))
}
