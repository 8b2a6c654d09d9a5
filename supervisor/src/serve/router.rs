//! The routes, in one table, with auth, the cross-origin guard, security headers and the body
//! cap around them; anything else is a JSON
//! 404 (or 405 for a known path with the wrong method).

use super::error::ApiError;
use super::{
    auth, bulk, dashboard, dead_letters, events, guard, headers, health, metrics, openapi, queues,
    schedules, stats, tasks, worker_actions, workers, workflows, AppState,
};
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::Router;

pub fn router(state: AppState) -> Router {
    let dlq = "/v1/queues/{queue}/dead-letters";
    Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/metrics", get(metrics::scrape))
        .route("/v1/tasks", post(tasks::enqueue).get(tasks::list))
        .route("/v1/tasks/{id}", get(tasks::get))
        .route("/v1/tasks/{id}/revoke", post(tasks::revoke))
        .route("/v1/tasks/{id}/retry", post(tasks::retry))
        .route("/v1/bulk/tasks", post(bulk::tasks))
        .route("/v1/stats/tasks", get(stats::tasks))
        .route("/v1/queues", get(queues::list))
        .route("/v1/queues/{queue}", get(queues::show))
        .route("/v1/queues/{queue}/tasks", get(queues::tasks))
        .route("/v1/queues/{queue}/pause", post(queues::pause))
        .route("/v1/queues/{queue}/resume", post(queues::resume))
        .route(dlq, get(dead_letters::list))
        .route(&format!("{dlq}/replay"), post(dead_letters::replay))
        .route(&format!("{dlq}/purge"), post(dead_letters::purge))
        .route(&format!("{dlq}/{{id}}"), get(dead_letters::show))
        .route("/v1/schedules", get(schedules::list))
        .route("/v1/schedules/{id}", get(schedules::show))
        .route("/v1/schedules/{id}/enable", post(schedules::enable))
        .route("/v1/schedules/{id}/disable", post(schedules::disable))
        .route("/v1/schedules/{id}/run", post(schedules::run))
        .route("/v1/workers", get(workers::list))
        .route("/v1/workers/metrics", get(workers::metrics))
        .route("/v1/workers/{name}", get(workers::command))
        .route(
            "/v1/workers/{name}/shutdown",
            post(worker_actions::shutdown),
        )
        .route("/v1/workers/{name}/pause", post(worker_actions::pause))
        .route("/v1/workers/{name}/resume", post(worker_actions::resume))
        .route("/v1/events", get(events::stream))
        .route("/v1/events/{topic}", post(workflows::emit))
        .route("/v1/workflows/{name}/runs", post(workflows::start))
        .route("/v1/workflows/runs", get(workflows::list))
        .route("/v1/workflows/runs/{id}", get(workflows::show))
        .route("/v1/workflows/runs/{id}/cancel", post(workflows::cancel))
        .route("/v1/workflows/runs/{id}/rewind", post(workflows::rewind))
        .route("/v1/workflows/waiters", get(workflows::waiters))
        .route("/v1/workflows/counts", get(workflows::counts))
        .merge(dashboard::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::check,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::check,
        ))
        .layer(axum::middleware::from_fn(headers::add))
        .layer(DefaultBodyLimit::max(state.max_body))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route {} (see /v1/openapi.json)", uri.path()))
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on {} (see /v1/openapi.json)",
            uri.path()
        ),
    )
}
