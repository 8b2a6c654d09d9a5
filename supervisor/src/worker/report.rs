//! Reporting an applied outcome to the observer (and only once its commit applied).

use super::delivery::Outcome;
use super::dispatcher::Dispatcher;
use crate::observe::Lifecycle;

impl Dispatcher {
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
