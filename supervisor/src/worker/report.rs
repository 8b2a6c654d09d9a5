//! Commit verdicts: an applied outcome is reported to the observer (and only then), frees its
//! flow-control slot and unique lock; a stale one is reported as such; a failed one is left
//! unacknowledged (it runs again after its lease).

use super::commits::Committed;
use super::delivery::{Outcome, Stage};
use super::dispatcher::Dispatcher;
use crate::observe::Lifecycle;
use stem_adapters::Verdict;

impl Dispatcher {
    pub(super) fn committed(&mut self, results: Committed) {
        for (receipt, verdict) in results {
            self.finish_gate(&receipt);
            let Some(entry) = self.entries.remove(&receipt) else {
                continue;
            };
            let Stage::Committing(outcome) = entry.stage else {
                continue;
            };
            match verdict {
                Ok(Verdict::Applied) => {
                    self.release_unique(&entry.delivery.payload, &outcome);
                    self.finish_debounce(&entry.delivery.payload, &outcome);
                    self.report(outcome)
                }
                Ok(Verdict::Stale { owner }) => self.observer().emit(Lifecycle::StaleCommit {
                    task: outcome.task().clone(),
                    owner,
                }),
                Err(e) => {
                    self.observer()
                        .emit(Lifecycle::BrokerError { op: "commit" });
                    tracing::error!(
                        task = %outcome.task().id,
                        "cannot commit its outcome: {e}; leaving it unacknowledged (it runs again after its lease)"
                    )
                }
            }
        }
    }

    /// Reports an applied outcome.
    pub(super) fn report(&self, outcome: Outcome) {
        let event = match outcome {
            Outcome::Succeeded(t) => Lifecycle::Succeeded(t),
            Outcome::Retried {
                task,
                error,
                delay_ms,
            } => Lifecycle::Retried {
                task,
                error,
                delay_ms,
            },
            Outcome::Failed {
                task,
                error,
                reason,
            } => {
                let dead = Lifecycle::DeadLettered {
                    task: task.clone(),
                    reason: reason.clone(),
                };
                self.observer().emit(Lifecycle::Failed {
                    task,
                    error,
                    reason,
                });
                dead
            }
            Outcome::Malformed { task, reason } => Lifecycle::DeadLettered { task, reason },
            Outcome::Revoked { task, before_start } => Lifecycle::Revoked { task, before_start },
            Outcome::Expired(task) => Lifecycle::Expired(task),
            Outcome::Superseded(_) => return,
            Outcome::Released { task, at_shutdown } => {
                if !at_shutdown {
                    return;
                }
                Lifecycle::GivenBack(task)
            }
        };
        self.observer().emit(event);
    }
}
