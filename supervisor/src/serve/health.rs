//! Probes for load balancers, open without a token: `/healthz` says the server answers;
//! `/readyz` checks the broker and the result backend ([`crate::ops::health::check`], workers
//! not required) and answers 503 with the report when one is down.

use super::AppState;
use crate::ops::health::{self, Endpoints, HealthOptions};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use std::time::Duration;

pub async fn live() -> Json<Value> {
    Json(json!({"ok": true}))
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<health::HealthReport>) {
    let endpoints = Endpoints {
        broker: &state.broker_url,
        backend: &state.backend_url,
    };
    let options = HealthOptions {
        lapse: Duration::from_secs(10),
        no_workers_ok: true,
    };
    let report = health::check(&state.adapters, endpoints, options).await;
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}
