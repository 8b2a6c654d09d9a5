//! The Prometheus text format: a registry's metrics encoded for a scrape, and the worker's
//! scrape endpoint (`stem worker --metrics-listen ADDR`: `GET /metrics` on plain HTTP).

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The registry's metrics in the text format.
pub fn encode(registry: &prometheus::Registry) -> String {
    let families = registry.gather();
    prometheus::TextEncoder::new()
        .encode_to_string(&families)
        .unwrap_or_else(|e| format!("# cannot encode the metrics: {e}\n"))
}

/// A scrape's reply.
pub fn reply(text: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text)
}

/// Binds `addr` (so a taken port fails at start, naming it) and serves `GET /metrics` from
/// `registry` in the background.
pub async fn listen(
    addr: SocketAddr,
    registry: prometheus::Registry,
) -> Result<SocketAddr, String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--metrics-listen {addr}: cannot listen ({e})"))?;
    let bound = listener.local_addr().unwrap_or(addr);
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let registry = registry.clone();
            async move { reply(encode(&registry)) }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the metrics endpoint stopped: {e}");
        }
    });
    Ok(bound)
}
