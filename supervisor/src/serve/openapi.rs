//! The OpenAPI document of this API, checked in at `docs/openapi.json` and served as it is at
//! `/v1/openapi.json` (an end-to-end test compares the two and calls every documented path).

use axum::http::header;
use axum::response::IntoResponse;

pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
