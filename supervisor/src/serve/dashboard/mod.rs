//! The dashboard at `/` of `stem serve`: server-rendered HTML over the same ops as the API,
//! with one small script (`assets/app.js`, no build step; `assets/login.js` for the login form,
//! so no page has an inline script) that sends actions through the JSON
//! API and refreshes the page's `<main>` in place on task events (Server-Sent Events from
//! `/v1/events`) and every few seconds. Every value from a store is escaped (`html::esc`).

mod charts;
mod dead_letters;
mod fair_keys;
mod fleet;
mod html;
mod plans;
mod queue;
mod stats;
mod tasks;
mod workflows;

use super::AppState;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
const LOGIN_JS: &str = include_str!("assets/login.js");

/// The dashboard's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(fleet::overview))
        .route("/ui/queues", get(fleet::queues_page))
        .route("/ui/queues/{queue}", get(queue::show))
        .route("/ui/workers", get(fleet::workers_page))
        .route("/ui/tasks", get(tasks::list))
        .route("/ui/stats", get(stats::page_view))
        .route("/ui/tasks/{id}", get(tasks::show))
        .route("/ui/workflows", get(workflows::list))
        .route("/ui/workflows/{id}", get(workflows::show))
        .route("/ui/dead-letters", get(dead_letters::list))
        .route("/ui/dead-letters/{queue}/{id}", get(dead_letters::show))
        .route("/ui/schedules", get(plans::schedules_page))
        .route("/ui/canvases", get(plans::canvases_page))
        .route("/ui/canvases/{id}", get(plans::canvas_page))
        .route("/favicon.ico", get(favicon))
        .route("/ui/app.js", get(js))
        .route("/ui/app.css", get(css))
        .route("/ui/login.js", get(login_js))
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
}

async fn login_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        LOGIN_JS,
    )
}

async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        html::FAVICON,
    )
}

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS)
}
