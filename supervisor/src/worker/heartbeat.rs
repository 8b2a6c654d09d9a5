//! Heartbeats: every few seconds the worker publishes who it is, what it serves and how busy
//! it is, so `stem observe workers` and `stem health` see it, and see when it lapses.

use super::state::WorkerState;
use std::sync::Arc;
use stem_adapters::Heartbeat;

pub fn current(state: &WorkerState) -> Heartbeat {
    Heartbeat {
        worker: state.config.worker_id.clone(),
        host: hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        pid: std::process::id(),
        queues: state.config.queues.clone(),
        in_flight: state.in_flight() as u32,
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: state.started_at,
        at: stem_protocol::now_ms(),
        stats: super::control::stats(state),
    }
}

pub async fn beat(state: Arc<WorkerState>) {
    let interval = state.config.heartbeat_interval;
    loop {
        let hb = current(&state);
        if let Err(e) = state.adapters().control.heartbeat(&hb, interval * 5).await {
            tracing::debug!("cannot publish heartbeat ({e})");
        }
        tokio::time::sleep(interval).await;
    }
}

/// A last heartbeat at shutdown with a short TTL, so the worker drops off listings promptly.
pub async fn goodbye(state: &WorkerState) {
    let mut hb = current(state);
    hb.in_flight = 0;
    let _ = state
        .adapters()
        .control
        .heartbeat(&hb, std::time::Duration::from_millis(1))
        .await;
}
