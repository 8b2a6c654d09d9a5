//! Debounced deliveries (`debounce` set on the envelope: the one task a burst of enqueues
//! published, see `ops/debounce.rs`). Before it runs, the worker asks the store for its burst
//! (`FlowControl::debounce_take`):
//! - `Wait(due)`: enqueues came after it was published; it goes back to the broker until `due`;
//! - `Take(payload)`: the latest enqueue's envelope, decoded and verified by the codec like any
//!   payload, runs instead under the burst's task id (a redelivery after a worker died mid-run
//!   gets it again, until the run's final outcome is committed and the burst is forgotten);
//! - `Gone`: the burst's run already finished (a duplicate delivery): acknowledged, unrun.
//!
//! A retry (attempt > 1) already carries the latest arguments and is not asked about.

use super::delivery::{Outcome, Stage};
use super::dispatcher::{Dispatcher, Event};
use super::outcome;
use std::time::Duration;
use stem_adapters::{codec, Commit, DebounceTake, Delivery, Payload};
use stem_protocol::{TaskEnvelope, TaskError};

/// How soon a take that failed on a store error is tried again.
const ERROR_RETRY: Duration = Duration::from_secs(1);

impl Dispatcher {
    /// Sends `receipt` to ask for its burst when it stands for one it has not taken yet;
    /// returns whether it must wait for the answer instead of starting now.
    pub(super) fn debounce(&mut self, receipt: &str, env: &TaskEnvelope) -> bool {
        let Some(key) = env.debounce.clone() else {
            return false;
        };
        if env.attempt > 1 {
            return false;
        }
        let Some(entry) = self.entries.get(receipt) else {
            return true;
        };
        if entry.debounced {
            return false;
        }
        let store = self.config.adapters.flow.clone();
        let events = self.ctx.events.clone();
        let (receipt, id) = (receipt.to_string(), env.id.clone());
        tokio::spawn(async move {
            let answer = store
                .debounce_take(&key, &id)
                .await
                .map_err(|e| e.to_string());
            let _ = events.send(Event::Debounced { receipt, answer });
        });
        true
    }

    /// Acts on the store's answer about a delivery's burst.
    pub(super) fn debounced(&mut self, receipt: String, answer: Result<DebounceTake, String>) {
        let Some(entry) = self.entries.get_mut(&receipt) else {
            return;
        };
        if !matches!(entry.stage, Stage::Reserved) {
            return;
        }
        let d = entry.delivery.clone();
        let Some(placeholder) = d.task().cloned() else {
            return;
        };
        let key = placeholder.debounce.clone().unwrap_or_default();
        match answer {
            Err(e) => {
                tracing::warn!(task = %placeholder.id, "debounce {key}: {e}; trying again in {ERROR_RETRY:?}");
                self.send_commit(outcome::release(&d, ERROR_RETRY, false));
            }
            Ok(DebounceTake::Wait(due)) => {
                let wait = (due - crate::ops::time::store_clock_ms()).max(0);
                self.send_commit(outcome::release(
                    &d,
                    Duration::from_millis(wait as u64),
                    false,
                ));
            }
            Ok(DebounceTake::Gone) => {
                tracing::info!(
                    task = %placeholder.id,
                    "debounce {key}: this burst's run already finished; acknowledged without running (a duplicate delivery)"
                );
                let commit = Commit::new(d.clone(), None, stem_adapters::Action::Ack);
                let t = super::delivery::task_ref(&d);
                self.send_commit((commit, Outcome::Superseded(t)));
            }
            Ok(DebounceTake::Take(raw)) => match stored_run(&placeholder, raw) {
                Ok(run) => {
                    entry.delivery.payload = Payload::Task(Box::new(run));
                    entry.debounced = true;
                    self.push_waiting_front(receipt);
                }
                Err(reason) => {
                    let done = refuse(&d, &placeholder, &self.config.worker_id, reason);
                    self.send_commit(done);
                }
            },
        }
    }

    /// After an applied commit: a final outcome of a burst's run forgets the burst.
    pub(super) fn finish_debounce(&self, payload: &Payload, outcome: &Outcome) {
        let final_outcome = !matches!(
            outcome,
            Outcome::Retried { .. } | Outcome::Released { .. } | Outcome::Superseded(_)
        );
        let Payload::Task(env) = payload else { return };
        let Some(key) = env.debounce.clone().filter(|_| final_outcome) else {
            return;
        };
        let store = self.config.adapters.flow.clone();
        let id = env.id.clone();
        tokio::spawn(async move {
            if let Err(e) = store.debounce_done(&key, &id).await {
                tracing::warn!(task = %id, "cannot forget debounce burst {key}: {e}; it is pruned later");
            }
        });
    }
}

/// The envelope stored for `placeholder`'s burst, checked: it must be a valid envelope (signed
/// when signing is on) of the same task and debounce key; it runs under the burst's id.
fn stored_run(placeholder: &TaskEnvelope, raw: String) -> Result<TaskEnvelope, String> {
    match codec::decode_payload(raw) {
        Payload::Task(run) if run.name == placeholder.name && run.debounce == placeholder.debounce => {
            let mut run = *run;
            run.id = placeholder.id.clone();
            Ok(run)
        }
        Payload::Task(run) => Err(format!(
            "the stored envelope of debounce burst {:?} is of task {:?} key {:?}, not {:?} key {:?}",
            placeholder.id, run.name, run.debounce, placeholder.name, placeholder.debounce
        )),
        Payload::Malformed { reason, .. } => Err(format!(
            "the stored envelope of debounce burst {:?} is not a valid task: {reason}",
            placeholder.id
        )),
    }
}

/// A burst whose stored envelope cannot run: the task fails, dead-lettered with the reason.
fn refuse(
    d: &Delivery,
    placeholder: &TaskEnvelope,
    worker: &str,
    reason: String,
) -> (Commit, Outcome) {
    tracing::error!(task = %placeholder.id, "{reason}");
    let record = outcome::fresh_record(d, placeholder, worker);
    let error = TaskError::new("BadDebounce", reason.clone()).permanent();
    outcome::fail(d, placeholder, record, error, reason)
}
