//! The log sink: one tracing line per lifecycle step worth a line, each task's with its id,
//! name, attempt and trace id. With `outcomes` (the JSON log format) every outcome is an INFO
//! line with its durations (run, and start to commit); otherwise successes are at debug (at
//! thousands a second they cost more than they tell; `stem events` has every outcome) and
//! failures, retries, revokes, stale commits and lost leases at info, warn or error.

use super::timing::Timings;
use super::{privacy, Lifecycle, Sink, TaskRef};
use crate::telemetry::ids;

#[derive(Default)]
pub struct LogSink {
    outcomes: bool,
    timings: Timings,
}

impl LogSink {
    /// A sink that logs every outcome at INFO with its durations when `outcomes` is true.
    pub fn new(outcomes: bool) -> LogSink {
        LogSink {
            outcomes,
            timings: Timings::default(),
        }
    }

    /// The outcome line of `t` (INFO, with its durations), when every outcome gets one.
    fn outcome(&self, t: &TaskRef, outcome: &str) -> bool {
        if !self.outcomes {
            return false;
        }
        let timing = self.timings.take(t);
        let run_ms = timing.and_then(|tm| tm.run()).map(|d| d.as_millis() as u64);
        let duration_ms = timing.map(|tm| tm.started_at.elapsed().as_millis() as u64);
        tracing::info!(
            task = %t.id, name = %t.name, attempt = t.attempt, queue = %t.queue,
            trace_id = %ids::trace_id_hex(t), outcome, run_ms, duration_ms,
            "{outcome}"
        );
        true
    }
}

impl Sink for LogSink {
    fn observe(&self, worker: &str, event: &Lifecycle) {
        match event {
            Lifecycle::Started(t) if self.outcomes => {
                self.timings.started(t);
            }
            Lifecycle::Ran(t) if self.outcomes => self.timings.ran(t),
            Lifecycle::Received(_)
            | Lifecycle::WorkflowStep { .. }
            | Lifecycle::Started(_)
            | Lifecycle::Progress(..)
            | Lifecycle::Ran(_)
            | Lifecycle::Throttled { .. }
            | Lifecycle::BrokerError { .. } => {}
            Lifecycle::BrokerRecovered => tracing::info!("the broker answers again"),
            Lifecycle::WorkflowRun {
                run,
                workflow,
                state,
                ..
            } => {
                tracing::info!(run = %run, workflow = %workflow, "workflow run {state}")
            }
            Lifecycle::Succeeded(t) => {
                if !self.outcome(t, "success") {
                    tracing::debug!(task = %t.id, name = %t.name, attempt = t.attempt, trace_id = %ids::trace_id_hex(t), "succeeded")
                }
            }
            Lifecycle::Retried {
                task,
                error,
                delay_ms,
            } => {
                self.outcome(task, "retry");
                let error = privacy::error_for_log(error);
                tracing::warn!(
                    task = %task.id, name = %task.name, attempt = task.attempt, trace_id = %ids::trace_id_hex(task),
                    "failed ({error}); retrying in {delay_ms} ms"
                )
            }
            Lifecycle::Failed {
                task,
                error,
                reason,
            } => {
                self.outcome(task, "failure");
                let error = privacy::error_for_log(error);
                tracing::error!(
                    task = %task.id, name = %task.name, attempt = task.attempt, trace_id = %ids::trace_id_hex(task),
                    "failed: {error} — {reason}"
                )
            }
            Lifecycle::DeadLettered { task, reason } => {
                tracing::info!(task = %task.id, name = %task.name, attempt = task.attempt, trace_id = %ids::trace_id_hex(task), "moved to the dead letters: {reason}")
            }
            Lifecycle::Revoked { task, before_start } => {
                self.outcome(task, "revoked");
                if *before_start {
                    tracing::info!(task = %task.id, name = %task.name, attempt = task.attempt, trace_id = %ids::trace_id_hex(task), "revoked before it started: skipped")
                } else {
                    tracing::info!(task = %task.id, name = %task.name, attempt = task.attempt, trace_id = %ids::trace_id_hex(task), "terminated by revoke")
                }
            }
            Lifecycle::Expired(task) => {
                tracing::info!(task = %task.id, name = %task.name, attempt = task.attempt, trace_id = %ids::trace_id_hex(task), "expired before it started: not run")
            }
            Lifecycle::StaleCommit { task, owner } => {
                self.timings.take(task);
                tracing::warn!(
                    task = %task.id, name = %task.name, attempt = task.attempt,
                    trace_id = %ids::trace_id_hex(task), worker, owner = owner.as_deref().unwrap_or("unknown"),
                    "stale commit rejected: the lease passed to another worker, whose record stands"
                )
            }
            Lifecycle::LeaseLost { task, running } => {
                if *running {
                    tracing::warn!(task = %task.id, name = %task.name, attempt = task.attempt, trace_id = %ids::trace_id_hex(task), worker, "lease lost while running: another worker may run it too; this run's commit will be refused")
                } else {
                    tracing::warn!(task = %task.id, name = %task.name, attempt = task.attempt, trace_id = %ids::trace_id_hex(task), worker, "lease lost before it started: left to the worker that took it")
                }
            }
            Lifecycle::GivenBack(t) => {
                self.timings.take(t);
                tracing::info!(task = %t.id, name = %t.name, attempt = t.attempt, trace_id = %ids::trace_id_hex(t), "given back to the broker at shutdown")
            }
            Lifecycle::ChildSpawned { runtime, pid } => {
                tracing::debug!(runtime, pid, "child spawned")
            }
            Lifecycle::ChildRecycled { runtime, pid, why } => {
                tracing::info!(runtime, pid, "child recycled: {why}")
            }
        }
    }
}
