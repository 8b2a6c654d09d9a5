//! Writing task records to the result backend. Writes are retried on transient errors, because
//! a delivery is acknowledged only after its outcome is recorded (at-least-once).

use super::state::WorkerState;
use std::time::Duration;
use stem_adapters::Delivery;
use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};

/// The record a run starts from: a fresh one for a first attempt, else the stored one (which
/// carries earlier attempts' errors).
pub async fn initial(state: &WorkerState, envelope: &TaskEnvelope) -> TaskRecord {
    let mut record = TaskRecord::pending(envelope);
    if envelope.attempt > 1 {
        if let Ok(Some(previous)) = state.adapters().backend.get(&envelope.id).await {
            record.errors = previous.errors;
            record.created_at = previous.created_at;
        }
    }
    record.worker = Some(state.config.worker_id.clone());
    record
}

fn advance(record: &mut TaskRecord, new_state: TaskState) {
    let now = stem_protocol::now_ms();
    record.state = new_state;
    record.updated_at = now;
    match new_state {
        TaskState::Started => record.started_at = Some(now),
        s if s.is_terminal() || s == TaskState::Retry => record.finished_at = Some(now),
        _ => {}
    }
}

/// Stores `record` in its final state and acknowledges `delivery` (batched with other
/// outcomes by the completer); returns once both are done.
pub async fn finish(
    state: &WorkerState,
    record: &mut TaskRecord,
    new_state: TaskState,
    delivery: &Delivery,
) {
    advance(record, new_state);
    let (done, wait) = tokio::sync::oneshot::channel();
    let completion = super::completer::Completion {
        record: record.clone(),
        delivery: delivery.clone(),
        done,
    };
    if state.completions.send(completion).is_ok() {
        let _ = wait.await;
    }
}

/// Stores `record` in state `new_state`, retrying transient failures for a while.
pub async fn write(state: &WorkerState, record: &mut TaskRecord, new_state: TaskState) -> bool {
    advance(record, new_state);
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=8 {
        match state
            .adapters()
            .backend
            .set(std::slice::from_ref(record), state.config.result_ttl)
            .await
        {
            Ok(()) => return true,
            Err(e) if e.is_transient() && attempt < 8 => {
                tracing::warn!(task = %record.id, "cannot record {new_state} ({e}); retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::error!(task = %record.id, "cannot record {new_state}: {e}");
                return false;
            }
        }
    }
    false
}
