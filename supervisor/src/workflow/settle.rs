//! The end of a resume whose child ran: the run suspended (its timer resume, due at the
//! earliest of what it waits for, its bounds and the watchdog, published by the delivery's own
//! fenced commit), completed (its parent nudged), failed once the resume's retries are spent
//! (no dead letter: a replay of an ended run's resume would do nothing), or the resume retried
//! like a task. The store is written before the commit is built.

use super::data::{self, Outcome as RunOutcomeData};
use super::publish;
use super::resume::{ack, announce, ms, parent_nudge, plain_error, WATCHDOG_MS};
use super::steps::{Resume, Suspension};
use crate::exec::limits::Forced;
use crate::exec::RunOutcome;
use crate::worker::config::WorkerConfig;
use crate::worker::delivery::Outcome;
use crate::worker::outcome;
use serde_json::json;
use stem_adapters::workflow::RunState;
use stem_adapters::{Action, Commit, Delivery};
use stem_protocol::manifest::EffectiveTask;
use stem_protocol::workflow::NONDETERMINISM;
use stem_protocol::{TaskEnvelope, TaskError, TaskRecord};

/// The commit of a resume whose child ran: suspended (its timer resume published with the
/// commit), completed, failed, or retried like a task.
pub async fn settle(
    config: &WorkerConfig,
    resume: Resume,
    d: &Delivery,
    env: &TaskEnvelope,
    task: &EffectiveTask,
    record: TaskRecord,
    run: RunOutcome,
) -> (Commit, Outcome) {
    let store = &config.adapters.workflows;
    let now = crate::ops::time::store_clock_ms();
    let id = resume.run.id.clone();
    if let Some(error) = &resume.refused {
        if error.kind != NONDETERMINISM {
            // A newer resume holds the run: this delivery has nothing more to do.
            return *ack(d, record, json!({"run": id, "resume": "stale"}));
        }
    }
    if matches!(run.forced, Some(Forced::Shutdown) | Some(Forced::Revoked)) {
        return outcome::settle(d, env, task, record, run);
    }
    let result = match (&resume.refused, run.result.clone()) {
        (Some(e), _) => Err(e.clone()),
        (None, r) => r,
    };
    match result {
        Ok(_) if resume.suspension.is_some() => {
            let spec = config
                .manifest
                .manifest
                .workflows
                .get(&resume.run.workflow)
                .cloned()
                .unwrap_or_default();
            let suspension = resume.suspension.clone().expect("checked");
            let (own, waiter) = match &suspension {
                Suspension::Timer(at) => (Some(*at), None),
                Suspension::Event(w) => (w.deadline, Some(w)),
                Suspension::Target => (None, None),
            };
            let wake = [
                own,
                spec.max_run_duration
                    .map(|m| resume.run.created_at.saturating_add(ms(m))),
                spec.max_suspension.map(|m| now.saturating_add(ms(m))),
                Some(now.saturating_add(WATCHDOG_MS)),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now);
            match store
                .wf_suspend(&id, resume.generation, Some(wake), waiter, now)
                .await
            {
                Ok(true) => {
                    announce(&resume.observer, env, &resume.run, RunState::Suspended);
                    let timer = publish::resume(
                        &id,
                        &resume.run.workflow,
                        &resume.run.queue,
                        resume.run.seq + 1,
                        Some(wake),
                        &resume.data.headers,
                    );
                    let mut done = ack(
                        d,
                        record,
                        json!({"run": id, "suspended": kind_of(&suspension), "until": wake}),
                    );
                    done.0.follow_ups.push(timer);
                    *done
                }
                Ok(false) => *ack(d, record, json!({"run": id, "resume": "stale"})),
                Err(e) => {
                    let e =
                        TaskError::new("StoreUnavailable", format!("cannot suspend run {id}: {e}"));
                    outcome::settle(d, env, task, record, plain_error(e))
                }
            }
        }
        Ok(value) => {
            let out = RunOutcomeData {
                result: Some(value.clone()),
                error: None,
            };
            let encoded = data::encode_outcome(&id, &out);
            match store
                .wf_finish(
                    &id,
                    Some(resume.generation),
                    RunState::Completed,
                    Some(&encoded),
                    now,
                )
                .await
            {
                Ok(Some(before)) => {
                    announce(&resume.observer, env, &resume.run, RunState::Completed);
                    let mut done = ack(d, record, value);
                    done.0.follow_ups = parent_nudge(&before);
                    *done
                }
                Ok(None) => *ack(d, record, json!({"run": id, "resume": "stale"})),
                Err(e) => {
                    let e = TaskError::new(
                        "StoreUnavailable",
                        format!("cannot complete run {id}: {e}"),
                    );
                    outcome::settle(d, env, task, record, plain_error(e))
                }
            }
        }
        Err(error) => {
            let retried = RunOutcome {
                result: Err(error.clone()),
                ..run
            };
            let (mut commit, out) = outcome::settle(d, env, task, record, retried);
            if matches!(commit.action, Action::DeadLetter(_)) {
                // The resume's retries are spent: the run fails (no dead letter: a replay of
                // a resume of an ended run would do nothing).
                let data = RunOutcomeData {
                    result: None,
                    error: Some(error),
                };
                let encoded = data::encode_outcome(&id, &data);
                if let Ok(Some(before)) = store
                    .wf_finish(
                        &id,
                        Some(resume.generation),
                        RunState::Failed,
                        Some(&encoded),
                        now,
                    )
                    .await
                {
                    commit.follow_ups = parent_nudge(&before);
                }
                commit.action = Action::Ack;
            }
            (commit, out)
        }
    }
}

fn kind_of(s: &Suspension) -> &'static str {
    match s {
        Suspension::Timer(_) => "timer",
        Suspension::Event(_) => "event",
        Suspension::Target => "target",
    }
}
