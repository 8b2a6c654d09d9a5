//! The runner: one delivery's path through the worker, in one direction — screen it (malformed,
//! poison, unknown task, revoked), run it, then settle it (`settle.rs`): record the outcome and
//! only then acknowledge it (or release it for a retry, or move it to the dead letters).

use super::events;
use super::recorder;
use super::settle::{dead_letter, finish_failed, release, settle};
use super::state::{Counters, Phase, Running, WorkerState};
use crate::exec::limits::StopRequest;
use crate::exec::{EventSink, ExecEvent};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::{DeadLetter, Delivery, Payload};
use stem_protocol::manifest::{EffectiveTask, TaskKind};
use stem_protocol::{TaskEnvelope, TaskError, TaskRecord, TaskState};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};

/// Shortest time between two progress writes of one task.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// A task still running after this long gets a `started` record.
const STARTED_RECORD_AFTER: Duration = Duration::from_millis(100);

/// Runs one delivery that has a run slot, in its own task. `reservation` is its place in the
/// prefetch window, held until its outcome is recorded and acked.
pub fn start(
    state: Arc<WorkerState>,
    delivery: Delivery,
    reservation: OwnedSemaphorePermit,
    slot: OwnedSemaphorePermit,
) {
    tokio::spawn(async move {
        handle(&state, delivery, slot).await;
        drop(reservation);
        state.active.fetch_sub(1, Ordering::SeqCst);
        state.notify_progress();
    });
}

/// Gives a reserved delivery back to the broker (shutdown began before it could run).
pub fn give_back(state: Arc<WorkerState>, delivery: Delivery, reservation: OwnedSemaphorePermit) {
    tokio::spawn(async move {
        release(&state, &delivery, None, Duration::ZERO).await;
        drop(reservation);
        state.active.fetch_sub(1, Ordering::SeqCst);
        state.notify_progress();
    });
}

/// `slot` is the run slot; it is given up as soon as the child is done, so the next task runs
/// while this one's outcome is being recorded (the reservation still holds its place).
async fn handle(state: &Arc<WorkerState>, delivery: Delivery, slot: OwnedSemaphorePermit) {
    let envelope = match &delivery.payload {
        Payload::Task(env) => env.clone(),
        Payload::Malformed { raw, reason } => {
            tracing::error!(receipt = %delivery.receipt, "malformed delivery: {reason}");
            let letter = DeadLetter {
                id: delivery.task_id(),
                queue: delivery.queue.clone(),
                envelope: None,
                raw: Some(raw.clone()),
                reason: reason.clone(),
                error: None,
                dead_at: stem_protocol::now_ms(),
                replay_count: 0,
                replayed_at: None,
            };
            dead_letter(state, &delivery, letter).await;
            return;
        }
    };
    events::push(
        state,
        "received",
        &envelope.id,
        &envelope.name,
        &envelope.queue,
        Value::Null,
    );
    let Some(task) = state.config.manifest.effective(&envelope.name) else {
        let known: Vec<&str> = state
            .config
            .manifest
            .manifest
            .tasks
            .keys()
            .map(String::as_str)
            .collect();
        let error = TaskError::new(
            "UnknownTask",
            format!(
                "task {:?} is not in the manifest {} (it names: {}); it was not run",
                envelope.name,
                state.config.manifest.path.display(),
                known.join(", ")
            ),
        )
        .permanent();
        tracing::error!(task = %envelope.id, "{}", error.message);
        finish_failed(
            state,
            &delivery,
            &envelope,
            recorder::initial(state, &envelope).await,
            error,
            "unknown task".into(),
        )
        .await;
        return;
    };
    if delivery.deliveries > state.config.max_deliveries {
        let error = TaskError::new(
            "Poison",
            format!(
                "delivered {} times (limit {}) without finishing: the worker running it died each time",
                delivery.deliveries, state.config.max_deliveries
            ),
        )
        .permanent();
        tracing::error!(task = %envelope.id, "{}", error.message);
        let reason = format!("poison: delivered {} times", delivery.deliveries);
        finish_failed(
            state,
            &delivery,
            &envelope,
            recorder::initial(state, &envelope).await,
            error,
            reason,
        )
        .await;
        return;
    }
    if let Some(rev) = state.is_revoked(&envelope.id) {
        tracing::info!(task = %envelope.id, "revoked before it started: skipped");
        let mut record = recorder::initial(state, &envelope).await;
        record.error = Some(
            TaskError::new(
                "Revoked",
                rev.reason
                    .unwrap_or_else(|| "revoked before it started".into()),
            )
            .permanent(),
        );
        Counters::bump(&state.counters.revoked);
        events::push(
            state,
            "revoked",
            &envelope.id,
            &envelope.name,
            &envelope.queue,
            Value::Null,
        );
        recorder::finish(state, &mut record, TaskState::Revoked, &delivery).await;
        return;
    }
    if envelope.is_delayed(stem_protocol::now_ms()) {
        let wait = Duration::from_millis(
            (envelope.eta.unwrap_or(0) - stem_protocol::now_ms()).max(0) as u64,
        );
        release(state, &delivery, None, wait).await;
        return;
    }
    run(state, delivery, envelope, task, slot).await;
}

async fn run(
    state: &Arc<WorkerState>,
    delivery: Delivery,
    envelope: TaskEnvelope,
    task: EffectiveTask,
    slot: OwnedSemaphorePermit,
) {
    let mut record = recorder::initial(state, &envelope).await;
    record.attempt = envelope.attempt;
    record.state = TaskState::Started;
    record.started_at = Some(stem_protocol::now_ms());
    events::push(
        state,
        "started",
        &envelope.id,
        &envelope.name,
        &envelope.queue,
        json!({"attempt": envelope.attempt}),
    );
    let (stop_tx, mut stop_rx) = watch::channel(StopRequest::None);
    if state.phase() == Phase::Cold {
        let _ = stop_tx.send(StopRequest::Kill);
    }
    let runtime = match &task.kind {
        TaskKind::Runtime(r) => r.clone(),
        TaskKind::Exec(_) => "exec".to_string(),
    };
    state.running.lock().expect("running lock").insert(
        envelope.id.clone(),
        Running {
            delivery: delivery.clone(),
            name: envelope.name.clone(),
            queue: envelope.queue.clone(),
            started_at: stem_protocol::now_ms(),
            pid: None,
            runtime,
            stop: stop_tx,
        },
    );
    // A revoke with terminate may have arrived between the check and the insert.
    if let Some(rev) = state.is_revoked(&envelope.id) {
        if rev.terminate {
            super::revokes::apply(state, rev);
        }
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let watcher = tokio::spawn(watch_events(
        state.clone(),
        envelope.clone(),
        record.clone(),
        rx,
    ));
    let outcome = {
        let sink = EventSink::new(tx);
        let execution = state.executor.run(&envelope, &task, &sink, &mut stop_rx);
        tokio::pin!(execution);
        // Short tasks go straight to their outcome; a task still running after a moment gets a
        // `started` record, so `stem result` shows it. This saves a write per short task.
        tokio::select! {
            outcome = &mut execution => outcome,
            _ = tokio::time::sleep(STARTED_RECORD_AFTER) => {
                recorder::write(state, &mut record.clone(), TaskState::Started).await;
                execution.await
            }
        }
    };
    if let Ok(Some(progress)) = watcher.await {
        record.progress = Some(progress);
    }
    state
        .running
        .lock()
        .expect("running lock")
        .remove(&envelope.id);
    drop(slot);
    // Until its outcome is stored and acked the delivery keeps its lease alive, also while the
    // backend is retried through an outage.
    state
        .settling
        .lock()
        .expect("settling lock")
        .insert(delivery.receipt.clone(), delivery.clone());
    settle(state, &delivery, &envelope, &task, record, outcome).await;
    state
        .settling
        .lock()
        .expect("settling lock")
        .remove(&delivery.receipt);
}

/// Records what a run's events say (the pid, progress) while it runs.
async fn watch_events(
    state: Arc<WorkerState>,
    envelope: TaskEnvelope,
    mut record: TaskRecord,
    mut rx: mpsc::UnboundedReceiver<ExecEvent>,
) -> Option<Value> {
    let mut last_progress = None;
    let mut last_write: Option<std::time::Instant> = None;
    while let Some(event) = rx.recv().await {
        match event {
            ExecEvent::Started { pid } => {
                if let Some(r) = state
                    .running
                    .lock()
                    .expect("running lock")
                    .get_mut(&envelope.id)
                {
                    r.pid = Some(pid);
                }
            }
            ExecEvent::Progress(p) => {
                record.progress = Some(p.clone());
                last_progress = Some(p.clone());
                // At most a few writes a second, however fast a task reports; the final
                // record carries the latest progress anyway.
                if last_write.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                    last_write = Some(std::time::Instant::now());
                    recorder::write(&state, &mut record, TaskState::Started).await;
                }
                events::push(
                    &state,
                    "progress",
                    &envelope.id,
                    &envelope.name,
                    &envelope.queue,
                    p,
                );
            }
            ExecEvent::Heartbeat => {}
        }
    }
    last_progress
}
