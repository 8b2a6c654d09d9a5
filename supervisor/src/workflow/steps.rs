//! One resume's side of the step exchange: each `step` message a child sends becomes a fenced
//! journal write (and, for a call or a child run, a publish), answered by a `step_ack` only once
//! it is durable. A refused write (a newer resume holds the run, or it ended) or a step that no
//! longer matches the journal stops the resume. What the resume suspends on is kept for its end.

use super::data::{self, Parent, RunData};
use super::targets;
use crate::manifest::LoadedManifest;
use crate::observe::{Lifecycle, Observer, TaskRef, WorkflowStep};
use std::collections::BTreeMap;
use std::sync::Arc;
use stem_adapters::workflow::{Waiter, WfRun};
use stem_adapters::Adapters;
use stem_protocol::workflow::{
    JournalEntry, StepAck, StepKind, StepMessage, StepOp, StepState, NONDETERMINISM, STALE_RESUME,
};
use stem_protocol::TaskError;

/// What a suspended run waits for (its timer resume is due at the earliest of this and the
/// run's bounds).
#[derive(Debug, Clone, PartialEq)]
pub enum Suspension {
    /// A sleep, or a durable retry's delay: resume at this time.
    Timer(i64),
    /// An event on a topic (with its timeout, if any).
    Event(Waiter),
    /// A called task or a child run: its end nudges the run.
    Target,
}

/// A claimed resume's state while its child runs.
pub struct Resume {
    pub adapters: Adapters,
    pub manifest: Arc<LoadedManifest>,
    pub run: WfRun,
    pub data: RunData,
    /// The fence: this resume's delivery generation.
    pub generation: u64,
    pub code_version: u32,
    pub journal: BTreeMap<u32, JournalEntry>,
    pub suspension: Option<Suspension>,
    /// Why the resume had to stop (its write refused, the code out of step with the journal).
    pub refused: Option<TaskError>,
    pub observer: Observer,
    /// The resume's own delivery (its steps' spans are its attempt's children).
    pub task: TaskRef,
}

fn refusal(kind: &str, message: String) -> TaskError {
    TaskError::new(kind, message).permanent()
}

impl Resume {
    fn now(&self) -> i64 {
        crate::ops::time::store_clock_ms()
    }

    /// Answers one step message (`None` for `start`, which is not answered).
    pub async fn handle(&mut self, msg: StepMessage) -> Option<StepAck> {
        let answered = !matches!(msg.op, StepOp::Start { .. });
        let suspends = msg.op.suspends();
        let verdict = match self.refused.clone() {
            Some(e) => Err(e),
            None => self.apply(&msg).await,
        };
        let ack = |ok: bool, error: Option<TaskError>| StepAck {
            id: msg.id.clone(),
            index: msg.index,
            ok,
            suspended: ok && suspends,
            error,
        };
        match verdict {
            Ok(()) => answered.then(|| ack(true, None)),
            Err(error) => {
                if error.kind == NONDETERMINISM || error.kind == STALE_RESUME {
                    self.refused = Some(error.clone());
                }
                self.suspension = None;
                answered.then(|| ack(false, Some(error)))
            }
        }
    }

    async fn apply(&mut self, msg: &StepMessage) -> Result<(), TaskError> {
        let (index, name) = (msg.index, msg.name.as_str());
        let existing = self.journal.get(&index).cloned();
        if let Some(e) = &existing {
            if e.name != name && self.run.version == self.code_version {
                return Err(refusal(
                    NONDETERMINISM,
                    format!(
                        "step {index} was {:?} when recorded, the code now asks for {name:?}",
                        e.name
                    ),
                ));
            }
            if e.state.is_final() {
                // The child re-sent what the journal already holds: nothing to write.
                return Ok(());
            }
        }
        let now = self.now();
        let base = |kind: StepKind, state: StepState, attempt: u32| {
            let mut e = existing
                .clone()
                .filter(|e| e.kind == kind)
                .unwrap_or_else(|| data::fresh(index, name, kind, state, attempt, now));
            e.state = state;
            e.attempt = attempt;
            e
        };
        match &msg.op {
            StepOp::Start { attempt } => {
                let e = base(StepKind::Step, StepState::Running, *attempt);
                self.write(e).await
            }
            StepOp::Done { attempt, result } => {
                let mut e = base(StepKind::Step, StepState::Done, *attempt);
                e.result = Some(result.clone());
                e.error = None;
                self.write(e).await
            }
            StepOp::Fail { attempt, error } => {
                let mut e = base(StepKind::Step, StepState::Failed, *attempt);
                e.error = Some(error.clone());
                self.write(e).await
            }
            StepOp::Retry {
                attempt,
                error,
                delay_ms,
            } => {
                let mut e = base(StepKind::Step, StepState::Retrying, attempt + 1);
                e.error = Some(error.clone());
                if *delay_ms > 0 {
                    let wake = now.saturating_add(*delay_ms as i64);
                    e.wake_at = Some(wake);
                    self.suspension = Some(Suspension::Timer(wake));
                }
                self.write(e).await
            }
            StepOp::Sleep { until, delay_ms } => {
                let mut e = base(StepKind::Sleep, StepState::Waiting, 1);
                let wake = e
                    .wake_at
                    .or(*until)
                    .unwrap_or_else(|| now.saturating_add(delay_ms.unwrap_or(0) as i64));
                e.wake_at = Some(wake);
                self.write(e).await?;
                self.suspension = Some(Suspension::Timer(wake));
                Ok(())
            }
            StepOp::Wait { topic, timeout_ms } => {
                let mut e = base(StepKind::Event, StepState::Waiting, 1);
                if e.topic.is_none() {
                    e.topic = Some(topic.clone());
                    e.deadline = timeout_ms.map(|t| now.saturating_add(t as i64));
                }
                let waiter = Waiter {
                    topic: e.topic.clone().unwrap_or_else(|| topic.clone()),
                    run: self.run.id.clone(),
                    index,
                    deadline: e.deadline,
                    since: now,
                };
                self.write(e).await?;
                self.suspension = Some(Suspension::Event(waiter));
                Ok(())
            }
            StepOp::Call {
                task,
                args,
                kwargs,
                options,
            } => {
                let e = base(StepKind::Call, StepState::Waiting, 1);
                let call = targets::Call {
                    task,
                    args,
                    kwargs,
                    options,
                };
                self.target(e, Some(call), None).await
            }
            StepOp::Child {
                workflow,
                args,
                kwargs,
            } => {
                let e = base(StepKind::Child, StepState::Waiting, 1);
                self.target(e, None, Some((workflow.as_str(), args, kwargs)))
                    .await
            }
        }
    }

    /// A call or a child run: the entry first (naming its target), then the publish, so a
    /// replay after a crash between the two publishes again (deduplicated by the target's id);
    /// a target already ended is journaled at once and the run resumes straight away.
    async fn target(
        &mut self,
        mut e: JournalEntry,
        call: Option<targets::Call<'_>>,
        child: Option<targets::Child<'_>>,
    ) -> Result<(), TaskError> {
        let fresh = e.target.is_none();
        if fresh {
            e.target = Some(
                targets::fresh_id(&self.adapters, &self.run.id, e.index, child.is_some()).await?,
            );
        }
        let target = e.target.clone().unwrap_or_default();
        if !fresh {
            if let Some(ended) = targets::ended(&self.adapters, &target, child.is_some()).await? {
                let now = self.now();
                targets::journal_end(&mut e, ended, now);
                self.write(e).await?;
                self.suspension = Some(Suspension::Timer(now));
                return Ok(());
            }
        }
        self.write(e.clone()).await?;
        let parent = Parent {
            run: self.run.id.clone(),
            index: e.index,
            queue: self.run.queue.clone(),
            workflow: self.run.workflow.clone(),
        };
        let trace = self.data.headers.clone();
        match (call, child) {
            (Some(call), _) => {
                targets::publish_call(
                    &self.adapters,
                    &self.manifest,
                    &target,
                    call,
                    &parent,
                    &trace,
                )
                .await?
            }
            (None, Some(child)) => {
                targets::start_child(
                    &self.adapters,
                    &self.manifest,
                    &target,
                    child,
                    &parent,
                    &trace,
                )
                .await?
            }
            (None, None) => {}
        }
        self.suspension = Some(Suspension::Target);
        Ok(())
    }

    /// Writes one entry, fenced by this resume's generation.
    pub async fn write(&mut self, e: JournalEntry) -> Result<(), TaskError> {
        let now = self.now();
        let step = data::stored(&self.run.id, &e, now);
        match self.adapters.workflows.wf_write_step(self.generation, &step).await {
            Ok(true) => {
                if e.state != StepState::Running {
                    let started = e.started_at.unwrap_or(now);
                    self.observer.emit(Lifecycle::WorkflowStep {
                        task: self.task.clone(),
                        step: WorkflowStep {
                            run: self.run.id.clone(),
                            workflow: self.run.workflow.clone(),
                            index: e.index,
                            name: e.name.clone(),
                            kind: e.kind.as_str(),
                            state: e.state.as_str(),
                            attempt: e.attempt,
                            started_at: started,
                            finished_at: e.finished_at.unwrap_or(now).max(started),
                        },
                    });
                }
                self.journal.insert(e.index, e);
                Ok(())
            }
            Ok(false) => Err(refusal(
                STALE_RESUME,
                format!(
                    "step {} ({}) of run {} not recorded: a newer resume holds the run, or it ended",
                    e.index, e.name, self.run.id
                ),
            )),
            Err(err) => Err(TaskError::new(
                "StoreUnavailable",
                format!("step {} ({}) of run {} not recorded: {err}", e.index, e.name, self.run.id),
            )),
        }
    }
}
