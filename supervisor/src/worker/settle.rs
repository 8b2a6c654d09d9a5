//! Settling a run's outcome: success is recorded and acked; a failure is retried (released with
//! the next attempt after its delay) or, after the last attempt, recorded as a failure and moved
//! to the dead letters; a revoked run is recorded `revoked`; a run killed by a cold shutdown is
//! given back to the broker unrecorded.

use super::events;
use super::recorder;
use super::retry::{self, Decision};
use super::state::{Counters, WorkerState};
use crate::exec::limits::Forced;
use crate::exec::RunOutcome;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::{DeadLetter, Delivery};
use stem_protocol::manifest::EffectiveTask;
use stem_protocol::{TaskEnvelope, TaskError, TaskRecord, TaskState};

pub(super) async fn settle(
    state: &Arc<WorkerState>,
    delivery: &Delivery,
    envelope: &TaskEnvelope,
    task: &EffectiveTask,
    mut record: TaskRecord,
    outcome: RunOutcome,
) {
    let RunOutcome {
        result,
        stderr,
        forced,
        ..
    } = outcome;
    if forced == Some(Forced::Shutdown) {
        tracing::warn!(task = %envelope.id, "killed by cold shutdown; released for another worker");
        release(state, delivery, None, Duration::ZERO).await;
        return;
    }
    Counters::bump(&state.counters.processed);
    let revoked = forced == Some(Forced::Revoked);
    match result {
        Ok(value) if !revoked => {
            record.result = Some(value);
            record.error = None;
            Counters::bump(&state.counters.succeeded);
            // Per-task success lines are debug: at thousands of tasks a second they cost more than they tell
            // (failures, retries and revokes stay at warn/error; `stem events` has every outcome).
            tracing::debug!(task = %envelope.id, name = %envelope.name, attempt = envelope.attempt, "succeeded");
            events::push(
                state,
                "succeeded",
                &envelope.id,
                &envelope.name,
                &envelope.queue,
                Value::Null,
            );
            recorder::finish(state, &mut record, TaskState::Success, delivery).await;
        }
        Ok(_) | Err(_) if revoked => {
            record.error = Some(TaskError::new("Revoked", "terminated by revoke").permanent());
            record.stderr = non_empty(stderr);
            Counters::bump(&state.counters.revoked);
            tracing::info!(task = %envelope.id, "terminated by revoke");
            events::push(
                state,
                "revoked",
                &envelope.id,
                &envelope.name,
                &envelope.queue,
                Value::Null,
            );
            recorder::finish(state, &mut record, TaskState::Revoked, delivery).await;
        }
        Ok(_) => unreachable!("handled above"),
        Err(error) => {
            record.stderr = non_empty(stderr);
            match retry::decide(envelope, task, &error) {
                Decision::Retry { delay } => {
                    tracing::warn!(task = %envelope.id, attempt = envelope.attempt, "failed ({error}); retrying in {delay:?}");
                    record.errors.push(error.clone());
                    record.error = Some(error);
                    Counters::bump(&state.counters.retried);
                    events::push(
                        state,
                        "retried",
                        &envelope.id,
                        &envelope.name,
                        &envelope.queue,
                        json!({"attempt": envelope.attempt, "delay_ms": delay.as_millis() as u64}),
                    );
                    if recorder::write(state, &mut record, TaskState::Retry).await {
                        let mut next = envelope.clone();
                        next.attempt += 1;
                        next.eta = Some(stem_protocol::now_ms() + delay.as_millis() as i64);
                        release(state, delivery, Some(&next), delay).await;
                    }
                }
                Decision::GiveUp { reason } => {
                    finish_failed(state, delivery, envelope, record, error, reason).await;
                }
            }
        }
    }
}

/// Records a final failure and moves the delivery to the dead letters.
pub(super) async fn finish_failed(
    state: &WorkerState,
    delivery: &Delivery,
    envelope: &TaskEnvelope,
    mut record: TaskRecord,
    error: TaskError,
    reason: String,
) {
    tracing::error!(task = %envelope.id, name = %envelope.name, attempt = envelope.attempt, "failed: {error} — {reason}");
    record.errors.push(error.clone());
    record.error = Some(error.clone());
    Counters::bump(&state.counters.failed);
    events::push(
        state,
        "failed",
        &envelope.id,
        &envelope.name,
        &envelope.queue,
        json!({"reason": reason}),
    );
    if !recorder::write(state, &mut record, TaskState::Failure).await {
        return;
    }
    let letter = DeadLetter {
        id: envelope.id.clone(),
        queue: envelope.queue.clone(),
        envelope: Some(envelope.clone()),
        raw: None,
        reason,
        error: Some(error),
        dead_at: stem_protocol::now_ms(),
        replay_count: envelope
            .headers
            .get("stem-replays")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        replayed_at: None,
    };
    dead_letter(state, delivery, letter).await;
}

fn non_empty(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}

pub(super) async fn release(
    state: &WorkerState,
    delivery: &Delivery,
    next: Option<&TaskEnvelope>,
    delay: Duration,
) {
    if let Err(e) = state.adapters().broker.release(delivery, next, delay).await {
        tracing::warn!(task = %delivery.task_id(), "release failed ({e}); its lease will expire and it will be redelivered");
    }
}

pub(super) async fn dead_letter(state: &WorkerState, delivery: &Delivery, letter: DeadLetter) {
    Counters::bump(&state.counters.dead_lettered);
    if let Err(e) = state.adapters().broker.dead_letter(delivery, &letter).await {
        tracing::error!(task = %letter.id, "cannot move to the dead letters ({e}); it will be redelivered");
    }
}
