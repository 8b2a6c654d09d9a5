//! From an outcome to its one commit: what to record and what the broker does — success (ack),
//! a retry (release as the next attempt after its delay), a final failure (dead letter), a
//! revoke (ack), an unknown, poison or malformed delivery (dead letter), a give-back (release
//! unrecorded). Pure functions: the dispatcher sends what they build to the commit loop.

use super::delivery::{task_ref, Outcome};
use super::retry::{self, Decision};
use crate::exec::limits::Forced;
use crate::exec::RunOutcome;
use std::time::Duration;
use stem_adapters::{Action, Commit, DeadLetter, Delivery};
use stem_protocol::manifest::EffectiveTask;
use stem_protocol::{TaskEnvelope, TaskError, TaskRecord, TaskState};

/// The record a delivery's outcome starts from: pending, by this worker, at its generation.
pub fn fresh_record(d: &Delivery, env: &TaskEnvelope, worker: &str) -> TaskRecord {
    let mut record = TaskRecord::pending(env);
    record.worker = Some(worker.to_string());
    record.generation = d.generation;
    record
}

/// Moves `record` to `state`, stamping the times.
pub fn advance(record: &mut TaskRecord, state: TaskState) {
    let now = stem_protocol::now_ms();
    record.state = state;
    record.updated_at = now;
    match state {
        TaskState::Started => record.started_at = Some(now),
        s if s.is_terminal() || s == TaskState::Retry => record.finished_at = Some(now),
        _ => {}
    }
}

/// The commit of a run that ended.
pub fn settle(
    d: &Delivery,
    env: &TaskEnvelope,
    task: &EffectiveTask,
    mut record: TaskRecord,
    run: RunOutcome,
) -> (Commit, Outcome) {
    let t = task_ref(d);
    if run.forced == Some(Forced::Shutdown) {
        // Given back at a cold shutdown: the record said `started`; it is pending again.
        record.state = TaskState::Pending;
        let (mut commit, outcome) = give_back(d, true);
        commit.record = Some(record);
        return (commit, outcome);
    }
    let stderr = Some(run.stderr).filter(|s| !s.trim().is_empty());
    if run.forced == Some(Forced::Revoked) {
        record.error = Some(TaskError::new("Revoked", "terminated by revoke").permanent());
        record.stderr = stderr;
        advance(&mut record, TaskState::Revoked);
        let outcome = Outcome::Revoked {
            task: t,
            before_start: false,
        };
        return (Commit::new(d.clone(), Some(record), Action::Ack), outcome);
    }
    match run.result {
        Ok(value) => {
            record.result = Some(value);
            record.error = None;
            advance(&mut record, TaskState::Success);
            // `ignore_result`: a first attempt's success leaves no record (none was written
            // before it either); after a retry, the success replaces the `retry` record.
            let keep = !env.ignore_result || env.attempt > 1;
            (
                Commit::new(d.clone(), keep.then_some(record), Action::Ack),
                Outcome::Succeeded(t),
            )
        }
        Err(error) => {
            record.stderr = stderr;
            match retry::decide(env, task, &error) {
                Decision::Retry { delay } => {
                    record.errors.push(error.clone());
                    record.error = Some(error.clone());
                    advance(&mut record, TaskState::Retry);
                    let mut next = env.clone();
                    next.attempt += 1;
                    next.eta = Some(crate::ops::time::store_clock_ms() + delay.as_millis() as i64);
                    let action = Action::Release {
                        replacement: Some(Box::new(next)),
                        delay,
                    };
                    let outcome = Outcome::Retried {
                        task: t,
                        error: error.to_string(),
                        delay_ms: delay.as_millis() as u64,
                    };
                    (Commit::new(d.clone(), Some(record), action), outcome)
                }
                Decision::GiveUp { reason } => fail(d, env, record, error, reason),
            }
        }
    }
}

/// A final failure: recorded, and the delivery moved to the dead letters.
pub fn fail(
    d: &Delivery,
    env: &TaskEnvelope,
    mut record: TaskRecord,
    error: TaskError,
    reason: String,
) -> (Commit, Outcome) {
    record.errors.push(error.clone());
    record.error = Some(error.clone());
    advance(&mut record, TaskState::Failure);
    let letter = DeadLetter {
        id: env.id.clone(),
        queue: env.queue.clone(),
        envelope: Some(env.clone()),
        raw: None,
        reason: reason.clone(),
        error: Some(error.clone()),
        sealed_error: None,
        dead_at: stem_protocol::now_ms(),
        replay_count: env
            .headers
            .get("stem-replays")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        replayed_at: None,
    };
    let outcome = Outcome::Failed {
        task: task_ref(d),
        error: error.to_string(),
        reason,
    };
    (
        Commit::new(
            d.clone(),
            Some(record),
            Action::DeadLetter(Box::new(letter)),
        ),
        outcome,
    )
}

/// A payload that is not a task: straight to the dead letters, with no record.
pub fn malformed(d: &Delivery, raw: &str, reason: &str) -> (Commit, Outcome) {
    let letter = DeadLetter {
        id: d.task_id(),
        queue: d.queue.clone(),
        envelope: None,
        raw: Some(raw.to_string()),
        reason: reason.to_string(),
        error: None,
        sealed_error: None,
        dead_at: stem_protocol::now_ms(),
        replay_count: 0,
        replayed_at: None,
    };
    let outcome = Outcome::Malformed {
        task: task_ref(d),
        reason: reason.to_string(),
    };
    (
        Commit::new(d.clone(), None, Action::DeadLetter(Box::new(letter))),
        outcome,
    )
}

/// A task revoked before it started: recorded `revoked`, acked.
pub fn revoked(d: &Delivery, mut record: TaskRecord, reason: Option<String>) -> (Commit, Outcome) {
    record.error = Some(
        TaskError::new(
            "Revoked",
            reason.unwrap_or_else(|| "revoked before it started".into()),
        )
        .permanent(),
    );
    advance(&mut record, TaskState::Revoked);
    let outcome = Outcome::Revoked {
        task: task_ref(d),
        before_start: true,
    };
    (Commit::new(d.clone(), Some(record), Action::Ack), outcome)
}

/// A task not started before its `expires_at`: recorded `expired`, acked, never run.
pub fn expired(d: &Delivery, mut record: TaskRecord, expires_at: i64) -> (Commit, Outcome) {
    record.error = Some(
        TaskError::new(
            "Expired",
            format!(
                "not started before it expired at {}",
                crate::ops::time::format_rfc3339(expires_at)
            ),
        )
        .permanent(),
    );
    advance(&mut record, TaskState::Expired);
    (
        Commit::new(d.clone(), Some(record), Action::Ack),
        Outcome::Expired(task_ref(d)),
    )
}

/// Puts a delivery back unrecorded: at shutdown at once, or after `delay` when not yet due.
pub fn release(d: &Delivery, delay: Duration, at_shutdown: bool) -> (Commit, Outcome) {
    let action = Action::Release {
        replacement: None,
        delay,
    };
    let outcome = Outcome::Released {
        task: task_ref(d),
        at_shutdown,
    };
    (Commit::new(d.clone(), None, action), outcome)
}

pub fn give_back(d: &Delivery, at_shutdown: bool) -> (Commit, Outcome) {
    release(d, Duration::ZERO, at_shutdown)
}
