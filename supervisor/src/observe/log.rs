//! The log sink: one tracing line per lifecycle step worth a line. Successes are at debug (at
//! thousands a second they cost more than they tell; `stem events` has every outcome); failures,
//! retries, revokes, stale commits and lost leases at info, warn or error.

use super::{Lifecycle, Sink};

pub struct LogSink;

impl Sink for LogSink {
    fn observe(&self, worker: &str, event: &Lifecycle) {
        match event {
            Lifecycle::Received(_)
            | Lifecycle::Started(_)
            | Lifecycle::Progress(..)
            | Lifecycle::Ran(_)
            | Lifecycle::BrokerError { .. } => {}
            Lifecycle::BrokerRecovered => tracing::info!("the broker answers again"),
            Lifecycle::Succeeded(t) => {
                tracing::debug!(task = %t.id, name = %t.name, attempt = t.attempt, "succeeded")
            }
            Lifecycle::Retried {
                task,
                error,
                delay_ms,
            } => tracing::warn!(
                task = %task.id, name = %task.name, attempt = task.attempt,
                "failed ({error}); retrying in {delay_ms} ms"
            ),
            Lifecycle::Failed {
                task,
                error,
                reason,
            } => tracing::error!(
                task = %task.id, name = %task.name, attempt = task.attempt,
                "failed: {error} — {reason}"
            ),
            Lifecycle::DeadLettered { task, reason } => {
                tracing::info!(task = %task.id, "moved to the dead letters: {reason}")
            }
            Lifecycle::Revoked { task, before_start } => {
                if *before_start {
                    tracing::info!(task = %task.id, "revoked before it started: skipped")
                } else {
                    tracing::info!(task = %task.id, "terminated by revoke")
                }
            }
            Lifecycle::StaleCommit { task, owner } => tracing::warn!(
                task = %task.id, worker, owner = owner.as_deref().unwrap_or("unknown"),
                "stale commit rejected: the lease passed to another worker, whose record stands"
            ),
            Lifecycle::LeaseLost { task, running } => {
                if *running {
                    tracing::warn!(task = %task.id, worker, "lease lost while running: another worker may run it too; this run's commit will be refused")
                } else {
                    tracing::warn!(task = %task.id, worker, "lease lost before it started: left to the worker that took it")
                }
            }
            Lifecycle::GivenBack(t) => {
                tracing::info!(task = %t.id, "given back to the broker at shutdown")
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
