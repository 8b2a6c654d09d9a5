//! One resume of a run, around the ordinary execution of its `wf:NAME` delivery: before the
//! child starts, the resume claims the run (fenced by the delivery's generation), ends it if a
//! time bound passed, and settles the step it was suspended on (a sleep that is due, an event
//! wait past its timeout, a call or child run that ended); while the child replays, its `step`
//! messages are journaled (`steps.rs`); after, the run is suspended (its timer resume published
//! by the delivery's own fenced commit), completed or failed — written before the commit, so a
//! refused commit leaves the delivery to its new owner, which replays from what is durable.

use super::data::{self, Outcome as RunOutcomeData, RunData};
use super::publish;
use super::steps::Resume;
use super::targets;
use crate::exec::RunOutcome;
use crate::observe::{Lifecycle, Observer, TaskRef};
use crate::worker::config::WorkerConfig;
use crate::worker::delivery::{task_ref, Outcome};
use crate::worker::outcome::{self, advance};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use stem_adapters::workflow::{Claim, RunState, WfRun};
use stem_adapters::{Action, Commit, Delivery};
use stem_protocol::manifest::EffectiveTask;
use stem_protocol::workflow::{
    workflow_of, StepKind, StepState, WorkflowRun, RESUME_HEADER, RUN_HEADER,
};
use stem_protocol::{TaskEnvelope, TaskError, TaskRecord, TaskState};

/// A run suspended on a call, a child run or an event with no timeout is resumed at the latest
/// this long after it suspended, to look again (a nudge or an emit's resume lost to a crash).
pub const WATCHDOG_MS: i64 = 6 * 3_600_000;

/// What a resume does before its child starts.
pub enum Prepared {
    /// Nothing to run: the commit that ends the delivery.
    Done(Box<(Commit, Outcome)>),
    /// The run is claimed: run its code.
    Run(Box<Resume>),
}

/// Whether `env` is a workflow resume.
pub fn is_resume(env: &TaskEnvelope) -> bool {
    workflow_of(&env.name).is_some()
}

pub(super) fn ack(d: &Delivery, mut record: TaskRecord, result: Value) -> Box<(Commit, Outcome)> {
    record.result = Some(result);
    record.error = None;
    advance(&mut record, TaskState::Success);
    Box::new((
        Commit::new(d.clone(), Some(record), Action::Ack),
        Outcome::Succeeded(task_ref(d)),
    ))
}

pub(super) fn failed(
    d: &Delivery,
    mut record: TaskRecord,
    error: TaskError,
) -> Box<(Commit, Outcome)> {
    record.errors.push(error.clone());
    record.error = Some(error.clone());
    advance(&mut record, TaskState::Failure);
    let outcome = Outcome::Failed {
        task: task_ref(d),
        error: error.to_string(),
        reason: "the workflow run failed".into(),
    };
    Box::new((Commit::new(d.clone(), Some(record), Action::Ack), outcome))
}

/// Claims the run and makes it ready to replay.
pub async fn prepare(
    config: &Arc<WorkerConfig>,
    observer: &Observer,
    d: &Delivery,
    env: &TaskEnvelope,
    record: &TaskRecord,
) -> Prepared {
    let Some(run_id) = env.headers.get(RUN_HEADER).cloned() else {
        let e = TaskError::new(
            "BadResume",
            format!("{} carries no {RUN_HEADER} header", env.id),
        )
        .permanent();
        return Prepared::Done(failed(d, record.clone(), e));
    };
    let seq: u64 = env
        .headers
        .get(RESUME_HEADER)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let store = &config.adapters.workflows;
    let now = crate::ops::time::store_clock_ms();
    let claim = match store
        .wf_claim(&run_id, seq, &env.id, d.generation, now)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            let e = TaskError::new(
                "StoreUnavailable",
                format!("cannot claim run {run_id}: {e}"),
            );
            return Prepared::Done(Box::new(outcome::settle(
                d,
                env,
                &effective(config, env),
                record.clone(),
                plain_error(e),
            )));
        }
    };
    let (run, previous, steps) = match claim {
        Claim::Claimed {
            run,
            previous,
            steps,
        } => (run, previous, steps),
        Claim::Stale => {
            return Prepared::Done(ack(
                d,
                record.clone(),
                json!({"run": run_id, "resume": "stale"}),
            ))
        }
        Claim::Final(state) => {
            return Prepared::Done(ack(
                d,
                record.clone(),
                json!({"run": run_id, "resume": "ended", "state": state}),
            ))
        }
        Claim::Unknown => {
            return Prepared::Done(ack(
                d,
                record.clone(),
                json!({"run": run_id, "resume": "unknown run"}),
            ))
        }
    };
    let spec = config
        .manifest
        .manifest
        .workflows
        .get(&run.workflow)
        .cloned()
        .unwrap_or_default();
    let data = match data::decode_run(&run) {
        Ok(data) => data,
        Err(e) => {
            let e = TaskError::new("UnreadableRun", format!("run {run_id}: {e}")).permanent();
            let out = RunOutcomeData {
                result: None,
                error: Some(e.clone()),
            };
            end_run(config, &run, RunState::Failed, &out, now).await;
            return Prepared::Done(failed(d, record.clone(), e));
        }
    };
    let over_run = spec
        .max_run_duration
        .map(|m| run.created_at.saturating_add(ms(m)))
        .filter(|at| *at <= now);
    let over_suspension = spec
        .max_suspension
        .zip(run.suspended_at.filter(|_| previous == RunState::Suspended))
        .map(|(m, at)| at.saturating_add(ms(m)))
        .filter(|at| *at <= now);
    if over_run.is_some() || over_suspension.is_some() {
        let what = if over_run.is_some() {
            "max_run_duration"
        } else {
            "max_suspension"
        };
        let e = TaskError::new("TimedOut", format!("run {run_id} passed its {what}")).permanent();
        let out = RunOutcomeData {
            result: None,
            error: Some(e),
        };
        let nudges = end_run(config, &run, RunState::TimedOut, &out, now).await;
        let mut done = ack(
            d,
            record.clone(),
            json!({"run": run_id, "state": "timed_out"}),
        );
        done.0.follow_ups = nudges;
        return Prepared::Done(done);
    }
    let mut journal = BTreeMap::new();
    for s in &steps {
        match data::entry(s) {
            Ok(e) => {
                journal.insert(e.index, e);
            }
            Err(e) => {
                let e = TaskError::new(
                    "UnreadableStep",
                    format!("run {run_id} step {}: {e}", s.index),
                )
                .permanent();
                let out = RunOutcomeData {
                    result: None,
                    error: Some(e.clone()),
                };
                let nudges = end_run(config, &run, RunState::Failed, &out, now).await;
                let mut done = failed(d, record.clone(), e);
                done.0.follow_ups = nudges;
                return Prepared::Done(done);
            }
        }
    }
    let mut resume = Resume {
        adapters: config.adapters.clone(),
        manifest: config.manifest.clone(),
        generation: d.generation,
        code_version: spec.version(),
        run,
        data,
        journal,
        suspension: None,
        refused: None,
        observer: observer.clone(),
        task: TaskRef::of(env),
    };
    settle_waiting(&mut resume, now).await;
    Prepared::Run(Box::new(resume))
}

/// A run's move, to the observer.
pub(super) fn announce(observer: &Observer, env: &TaskEnvelope, run: &WfRun, state: RunState) {
    observer.emit(Lifecycle::WorkflowRun {
        task: TaskRef::of(env),
        run: run.id.clone(),
        workflow: run.workflow.clone(),
        state: state.as_str(),
    });
}

pub(super) fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn effective(config: &WorkerConfig, env: &TaskEnvelope) -> EffectiveTask {
    config
        .manifest
        .effective(&env.name)
        .expect("the screen let only known tasks through")
}

pub(super) fn plain_error(e: TaskError) -> RunOutcome {
    RunOutcome {
        result: Err(e),
        stderr: String::new(),
        forced: None,
        healthy: true,
    }
}

/// Settles the steps the run was suspended on that can be settled now: a sleep that is due, an
/// event wait past its timeout (unless an emit wrote it first), a call or child run that ended.
async fn settle_waiting(resume: &mut Resume, now: i64) {
    let waiting: Vec<_> = resume
        .journal
        .values()
        .filter(|e| e.state == StepState::Waiting)
        .cloned()
        .collect();
    for mut e in waiting {
        let settled = match e.kind {
            StepKind::Sleep if e.wake_at.is_some_and(|w| w <= now) => {
                e.state = StepState::Done;
                e.finished_at = Some(now);
                true
            }
            StepKind::Event if e.deadline.is_some_and(|t| t <= now) => {
                e.state = StepState::Done;
                e.timed_out = true;
                e.finished_at = Some(now);
                true
            }
            StepKind::Call | StepKind::Child => {
                let target = e.target.clone().unwrap_or_default();
                match targets::ended(&resume.adapters, &target, e.kind == StepKind::Child).await {
                    Ok(Some(ended)) => {
                        targets::journal_end(&mut e, ended, now);
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        if settled && resume.write(e.clone()).await.is_err() {
            // An emit wrote the event first: read the step as it stands.
            if let Ok(steps) = resume.adapters.workflows.wf_steps(&resume.run.id).await {
                if let Some(Ok(fresh)) = steps.iter().find(|s| s.index == e.index).map(data::entry)
                {
                    resume.journal.insert(e.index, fresh);
                }
            }
        }
    }
}

/// The run as its child sees it.
pub fn handed(resume: &Resume) -> WorkflowRun {
    WorkflowRun {
        run: resume.run.id.clone(),
        name: resume.run.workflow.clone(),
        version: resume.run.version,
        code_version: resume.code_version,
        now: crate::ops::time::store_clock_ms(),
        journal: resume.journal.values().cloned().collect(),
    }
}

/// Ends the run (unfenced: a bound, an unreadable run); the nudges for its parent.
async fn end_run(
    config: &WorkerConfig,
    run: &WfRun,
    state: RunState,
    out: &RunOutcomeData,
    now: i64,
) -> Vec<TaskEnvelope> {
    let encoded = data::encode_outcome(&run.id, out);
    match config
        .adapters
        .workflows
        .wf_finish(&run.id, None, state, Some(&encoded), now)
        .await
    {
        Ok(Some(before)) => parent_nudge(&before),
        _ => Vec::new(),
    }
}

pub(super) fn parent_nudge(run: &WfRun) -> Vec<TaskEnvelope> {
    match data::decode_run(run) {
        Ok(RunData {
            parent: Some(p),
            headers,
            ..
        }) => vec![publish::nudge(&p, &headers)],
        _ => Vec::new(),
    }
}
