//! The `WorkflowStore` trait: durable workflow runs, their journals of steps, and the waiters
//! of event topics — in the broker's store, so a resume's writes and its delivery live together.
//!
//! Every write a resume makes is fenced: a resume *claims* its run with its delivery's
//! generation (which grows from one lease to the next on the store's clock), and a step write,
//! a suspension or the run's end is accepted only while the run's claimed generation is that
//! one — a frozen worker's late step result is refused once a newer resume has claimed the run.
//! A final step entry (`done`, `failed`) is never rewritten, so whichever of an emit and a
//! timeout writes an event step first wins and the other is refused. A run's state only moves
//! forward (`running ⇄ suspended`, then one final state), except by [`rewind`](WorkflowStore::wf_rewind).
//!
//! Payloads (a run's arguments, results, errors, event payloads) are opaque strings here: the
//! codec (`codec::workflow`) makes and reads them, sealed and signed when configured, so no
//! backend interprets them. Times are epoch ms on the store's clock, given by the caller.

use crate::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use stem_protocol::workflow::{StepKind, StepState};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// A resume holds it (or was about to).
    Running,
    /// Waiting for a timer, an event, a call or a child; nothing holds it.
    Suspended,
    Completed,
    Failed,
    Cancelled,
    TimedOut,
}

pub const RUN_STATES: [RunState; 6] = [
    RunState::Running,
    RunState::Suspended,
    RunState::Completed,
    RunState::Failed,
    RunState::Cancelled,
    RunState::TimedOut,
];

impl RunState {
    pub fn as_str(&self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Suspended => "suspended",
            RunState::Completed => "completed",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
            RunState::TimedOut => "timed_out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        RUN_STATES.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_final(&self) -> bool {
        !matches!(self, RunState::Running | RunState::Suspended)
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WfRun {
    pub id: String,
    /// The workflow's name (its resumes are the task `wf:NAME`).
    pub workflow: String,
    pub version: u32,
    /// Where its resumes are published.
    pub queue: String,
    pub state: RunState,
    /// Codec payload: arguments, keyword arguments, headers, parent.
    pub data: String,
    /// Codec payload of a final run: its result or error.
    pub outcome: Option<String>,
    /// The sequence number of the resume that claimed it last (0 before any).
    pub seq: u64,
    /// The envelope id of that resume.
    pub resume_id: Option<String>,
    /// The fence: that resume's delivery generation.
    pub generation: u64,
    pub created_at: i64,
    pub updated_at: i64,
    /// When it last suspended (kept after it resumes).
    pub suspended_at: Option<i64>,
    /// When its pending timer resume is due, while suspended.
    pub wake_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// One step of a run's journal as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WfStep {
    pub run: String,
    pub index: u32,
    pub name: String,
    pub kind: StepKind,
    pub state: StepState,
    pub attempt: u32,
    /// Codec payload: result or error, and the wait's details (wake time, topic, deadline,
    /// target).
    pub data: Option<String>,
    pub started_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// A run waiting on an event topic at one of its steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiter {
    pub topic: String,
    pub run: String,
    pub index: u32,
    /// When its timeout resume is due (epoch ms), if it has one.
    pub deadline: Option<i64>,
    pub since: i64,
}

/// A run an emit woke: its step `index` now holds the event; publish a resume with `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Woken {
    pub run: String,
    pub workflow: String,
    pub queue: String,
    pub index: u32,
    pub seq: u64,
}

/// What a resume's claim found.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // made once per resume, matched at once
pub enum Claim {
    /// The resume holds the run: `previous` is its state before the claim (the store now says
    /// `running`); `run` carries the new claim; `steps` the journal, by index.
    Claimed {
        run: WfRun,
        previous: RunState,
        steps: Vec<WfStep>,
    },
    /// Another resume took this suspension (or a newer lease holds the run): do nothing.
    Stale,
    /// The run has ended.
    Final(RunState),
    /// No such run.
    Unknown,
}

/// A page of `wf_list`: newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub state: Option<RunState>,
    pub workflow: Option<String>,
    /// Only runs created before this (epoch ms), for paging.
    pub before: Option<i64>,
    pub limit: usize,
}

#[async_trait]
pub trait WorkflowStore: Send + Sync + 'static {
    /// Stores `run` unless a run with its id exists: `(the stored run, whether it is new)`.
    async fn wf_start(&self, run: &WfRun) -> Result<(WfRun, bool)>;

    async fn wf_get(&self, id: &str) -> Result<Option<WfRun>>;

    /// The run's journal, by index.
    async fn wf_steps(&self, id: &str) -> Result<Vec<WfStep>>;

    /// Newest first (by creation, then id), filtered.
    async fn wf_list(&self, filter: &RunFilter) -> Result<Vec<WfRun>>;

    /// How many runs are in each state (states with none left out).
    async fn wf_counts(&self) -> Result<Vec<(RunState, u64)>>;

    /// A resume (envelope `resume_id`, sequence `seq`, delivery `generation`) claims its run.
    /// Refused (`Stale`) when `generation` is not above the run's, when `seq` is below the
    /// run's, or equal to it from another envelope (another resume took that suspension).
    /// `seq == 0` (a nudge: a call or child ended) claims whatever the run's sequence and
    /// raises it by one. Otherwise the run takes `seq`, `resume_id` and `generation`, and moves
    /// to `running`.
    async fn wf_claim(
        &self,
        id: &str,
        seq: u64,
        resume_id: &str,
        generation: u64,
        now: i64,
    ) -> Result<Claim>;

    /// Writes a step (a new one, or over one not final), if the run is live and claimed at
    /// `generation`; a final step also removes the step's waiter. Whether it was written.
    async fn wf_write_step(&self, generation: u64, step: &WfStep) -> Result<bool>;

    /// Suspends the run claimed at `generation`: state `suspended`, `suspended_at = now`,
    /// `wake_at`; with a waiter, registers it unless its step is already final. Whether the
    /// run was suspended.
    async fn wf_suspend(
        &self,
        id: &str,
        generation: u64,
        wake_at: Option<i64>,
        waiter: Option<&Waiter>,
        now: i64,
    ) -> Result<bool>;

    /// Ends a live run in `state` (final) with `outcome`, deleting its waiters: fenced by
    /// `generation` when given (a resume ending its run), not when `None` (an operator's
    /// cancel, a bound). The run as it was before, when it was ended by this call.
    async fn wf_finish(
        &self,
        id: &str,
        generation: Option<u64>,
        state: RunState,
        outcome: Option<&str>,
        now: i64,
    ) -> Result<Option<WfRun>>;

    /// Takes every waiter of `topic` whose run is live and step not final, atomically: for each
    /// the step becomes `done` with `data` (the event), the waiter is deleted, and the run's
    /// resume sequence to publish is the run's plus one. Each waiter is taken by one emit.
    async fn wf_emit(&self, topic: &str, data: &str, now: i64) -> Result<Vec<Woken>>;

    /// Rewinds the run to step `index`: steps from it on and the run's waiters are deleted, the
    /// run is `suspended` again (whatever its state), its outcome cleared, and its generation
    /// raised by one so a resume still running writes nothing more. The run after, or `None`
    /// when there is no such run.
    async fn wf_rewind(&self, id: &str, index: u32, now: i64) -> Result<Option<WfRun>>;

    /// Waiters, oldest first, of one topic or all.
    async fn wf_waiters(&self, topic: Option<&str>, limit: usize) -> Result<Vec<Waiter>>;
}
