//! `GET /metrics`: the fleet in the Prometheus text format, made at each scrape from the same
//! ops as `stem observe metrics` and `stem observe queues` (the server keeps no state): the
//! counters of the live workers' last heartbeats summed (`stem_fleet_<counter>`, gauges: a
//! worker that stops takes its counts with it — rates belong to each worker's own endpoint), the
//! number of live workers, and each queue's ready, delayed, leased and dead counts.

use super::error::ApiError;
use super::AppState;
use crate::ops::{queues, workers};
use crate::telemetry::prom;
use axum::extract::State;
use axum::response::IntoResponse;
use prometheus::{IntGauge, IntGaugeVec, Opts, Registry};

fn gauge(registry: &Registry, name: &str, help: &str, value: u64) -> Result<(), ApiError> {
    let g = IntGauge::new(name, help).map_err(internal)?;
    g.set(i64::try_from(value).unwrap_or(i64::MAX));
    registry.register(Box::new(g)).map_err(internal)
}

fn internal(e: prometheus::Error) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        format!("cannot build the metrics: {e}"),
    )
}

/// A metric name for a heartbeat counter key (`processed` → `stem_fleet_processed`).
fn fleet_name(key: &str) -> String {
    let clean: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("stem_fleet_{clean}")
}

pub async fn scrape(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let fleet = workers::metrics(&state.adapters).await?;
    let sizes = queues::sizes(&state.adapters, None).await?;
    let registry = Registry::new();
    gauge(
        &registry,
        "stem_workers_alive",
        "Workers with a live heartbeat",
        fleet.workers as u64,
    )?;
    for (key, value) in &fleet.counters {
        let help = format!(
            "Sum of `{key}` over the live workers' last heartbeats (as `stem observe metrics`)"
        );
        gauge(&registry, &fleet_name(key), &help, *value)?;
    }
    let depth = IntGaugeVec::new(
        Opts::new(
            "stem_queue_depth",
            "Tasks in each queue, by state (ready, delayed, leased, dead)",
        ),
        &["queue", "state"],
    )
    .map_err(internal)?;
    for q in &sizes {
        let c = q.counts;
        for (s, n) in [
            ("ready", c.ready),
            ("delayed", c.delayed),
            ("leased", c.leased),
            ("dead", c.dead),
        ] {
            depth
                .with_label_values(&[q.queue.as_str(), s])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    registry.register(Box::new(depth)).map_err(internal)?;
    Ok(prom::reply(prom::encode(&registry)))
}
