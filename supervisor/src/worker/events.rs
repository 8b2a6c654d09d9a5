//! Task events (received, started, progress, retried, succeeded, failed, revoked), buffered and
//! flushed to the events stream in batches so the hot path pays no round trip for them.

use super::state::WorkerState;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::TaskEvent;

const FLUSH_EVERY: Duration = Duration::from_millis(250);

pub fn push(state: &WorkerState, kind: &str, task_id: &str, name: &str, queue: &str, data: Value) {
    state.events.lock().expect("events lock").push(TaskEvent {
        kind: kind.to_string(),
        task_id: task_id.to_string(),
        name: name.to_string(),
        queue: queue.to_string(),
        worker: state.config.worker_id.clone(),
        at: stem_protocol::now_ms(),
        data,
    });
}

pub async fn flush(state: &WorkerState) {
    let batch: Vec<TaskEvent> = std::mem::take(&mut *state.events.lock().expect("events lock"));
    if batch.is_empty() {
        return;
    }
    if let Err(e) = state.adapters().control.emit(&batch).await {
        tracing::debug!("cannot emit {} event(s): {e}", batch.len());
    }
}

pub async fn flush_loop(state: Arc<WorkerState>) {
    loop {
        tokio::time::sleep(FLUSH_EVERY).await;
        flush(&state).await;
    }
}
