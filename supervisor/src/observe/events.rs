//! The events sink: task lifecycle steps buffered in memory and flushed to the control plane's
//! events stream in batches (`stem events`), so the hot path pays no round trip for them.

use super::{Lifecycle, Sink};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stem_adapters::{ControlPlane, TaskEvent};

const FLUSH_EVERY: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct EventSink {
    buffer: Mutex<Vec<TaskEvent>>,
}

impl EventSink {
    /// Sends what is buffered; errors are logged at debug (events are best effort).
    pub async fn flush(&self, control: &dyn ControlPlane) {
        let batch = std::mem::take(&mut *self.buffer.lock().expect("events lock"));
        if batch.is_empty() {
            return;
        }
        if let Err(e) = control.emit(&batch).await {
            tracing::debug!("cannot emit {} event(s): {e}", batch.len());
        }
    }

    pub async fn flush_loop(self: Arc<Self>, control: Arc<dyn ControlPlane>) {
        loop {
            tokio::time::sleep(FLUSH_EVERY).await;
            self.flush(control.as_ref()).await;
        }
    }
}

impl Sink for EventSink {
    fn observe(&self, worker: &str, event: &Lifecycle) {
        let (kind, task, data): (&str, _, Value) = match event {
            Lifecycle::Received(t) => ("received", t, Value::Null),
            Lifecycle::Started(t) => ("started", t, json!({"attempt": t.attempt})),
            Lifecycle::Progress(t, p) => ("progress", t, p.clone()),
            Lifecycle::Succeeded(t) => ("succeeded", t, Value::Null),
            Lifecycle::Retried { task, delay_ms, .. } => (
                "retried",
                task,
                json!({"attempt": task.attempt, "delay_ms": delay_ms}),
            ),
            Lifecycle::Failed { task, reason, .. } => ("failed", task, json!({"reason": reason})),
            Lifecycle::DeadLettered { task, reason } => {
                ("dead_lettered", task, json!({"reason": reason}))
            }
            Lifecycle::Revoked { task, .. } => ("revoked", task, Value::Null),
            Lifecycle::Expired(task) => ("expired", task, Value::Null),
            Lifecycle::StaleCommit { task, owner } => {
                ("stale_commit", task, json!({"owner": owner}))
            }
            Lifecycle::LeaseLost { task, running } => {
                ("lease_lost", task, json!({"running": running}))
            }
            Lifecycle::WorkflowStep { task, step } => (
                "wf_step",
                task,
                json!({"run": step.run, "workflow": step.workflow, "index": step.index, "step": step.name,
                       "kind": step.kind, "state": step.state, "attempt": step.attempt,
                       "duration_ms": step.finished_at - step.started_at}),
            ),
            Lifecycle::WorkflowRun {
                task,
                run,
                workflow,
                state,
            } => (
                "wf_run",
                task,
                json!({"run": run, "workflow": workflow, "state": state}),
            ),
            Lifecycle::GivenBack(_)
            | Lifecycle::Ran(_)
            | Lifecycle::ChildSpawned { .. }
            | Lifecycle::ChildRecycled { .. }
            | Lifecycle::BrokerError { .. }
            | Lifecycle::BrokerRecovered
            | Lifecycle::Throttled { .. } => return,
        };
        self.buffer.lock().expect("events lock").push(TaskEvent {
            kind: kind.to_string(),
            task_id: task.id.clone(),
            name: task.name.clone(),
            queue: task.queue.clone(),
            worker: worker.to_string(),
            at: stem_protocol::now_ms(),
            data,
            sealed: None,
        });
    }
}
