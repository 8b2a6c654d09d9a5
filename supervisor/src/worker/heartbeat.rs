//! Heartbeats: every few seconds the worker publishes who it is, what it serves and how busy
//! it is (stats asked of the dispatcher), so `stem observe workers` and `stem health` see it,
//! and see when it lapses.

use super::dispatcher::Event;
use super::WorkerConfig;
use crate::observe::gauges::Gauges;
use serde_json::Value;
use std::sync::Arc;
use stem_adapters::Heartbeat;
use tokio::sync::{mpsc, oneshot};

fn current(config: &WorkerConfig, started_at: i64, stats: Value) -> Heartbeat {
    Heartbeat {
        worker: config.worker_id.clone(),
        host: hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        pid: std::process::id(),
        queues: config.queues.clone(),
        in_flight: stats["in_flight"].as_u64().unwrap_or(0) as u32,
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at,
        at: stem_protocol::now_ms(),
        stats,
    }
}

/// Publishes a heartbeat every interval (and hands its stats to the gauges, when measured).
pub async fn beat(
    config: Arc<WorkerConfig>,
    events: mpsc::UnboundedSender<Event>,
    gauges: Option<Gauges>,
) {
    let interval = config.heartbeat_interval;
    let started_at = stem_protocol::now_ms();
    loop {
        let (tx, rx) = oneshot::channel();
        if events.send(Event::Snapshot(tx)).is_err() {
            return;
        }
        let Ok(stats) = rx.await else { return };
        if let Some(g) = &gauges {
            g.update_from_stats(&stats);
        }
        let hb = current(&config, started_at, stats);
        if let Err(e) = config.adapters.control.heartbeat(&hb, interval * 5).await {
            tracing::debug!("cannot publish heartbeat ({e})");
        }
        tokio::time::sleep(interval).await;
    }
}

/// A last heartbeat at shutdown with a short TTL, so the worker drops off listings promptly.
pub async fn goodbye(config: &WorkerConfig) {
    let hb = current(config, stem_protocol::now_ms(), Value::Null);
    let _ = config
        .adapters
        .control
        .heartbeat(&hb, std::time::Duration::from_millis(1))
        .await;
}
