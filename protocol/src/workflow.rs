//! Durable workflows on the wire: the run a resume hands its child (`TaskRequest::workflow`),
//! the journal of its steps, and the `step` messages a child sends while it replays (each
//! answered by a `step_ack` once what it says is durable). See `PROTOCOL.md`, "Workflows".

use crate::messages::TaskError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A workflow's resumes are deliveries of the task `wf:NAME`.
pub const TASK_PREFIX: &str = "wf:";
/// The run a resume envelope resumes.
pub const RUN_HEADER: &str = "stem-run";
/// The resume's sequence number (`0`: a nudge, claimed whatever the run's sequence).
pub const RESUME_HEADER: &str = "stem-resume";
/// On a task a step called (and on a child run's resumes): the run waiting for it.
pub const PARENT_HEADER: &str = "stem-wf-parent";
/// The parent run's queue, so the task's final commit can publish the parent's resume.
pub const PARENT_QUEUE_HEADER: &str = "stem-wf-parent-queue";
/// The parent run's task (`wf:NAME`).
pub const PARENT_TASK_HEADER: &str = "stem-wf-parent-task";

/// The task name of a workflow's resumes.
pub fn task_name(workflow: &str) -> String {
    format!("{TASK_PREFIX}{workflow}")
}

/// The workflow a `wf:NAME` task resumes, if it is one.
pub fn workflow_of(task: &str) -> Option<&str> {
    task.strip_prefix(TASK_PREFIX).filter(|n| !n.is_empty())
}

/// The id of the task a run's step `index` calls (and of a child run it starts).
pub fn call_id(run: &str, index: u32) -> String {
    format!("{run}:{index}")
}

/// What a resume hands its child: the run and its journal, with the store's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRun {
    pub run: String,
    pub name: String,
    /// The version the run started under.
    pub version: u32,
    /// The version the manifest declares now: when it differs, steps match by name.
    pub code_version: u32,
    /// The store's clock (epoch ms) as the resume began.
    pub now: i64,
    pub journal: Vec<JournalEntry>,
}

/// What a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// `ctx.step(name, fn)`: code run once per run.
    Step,
    /// `ctx.sleep(name, ...)`.
    Sleep,
    /// `ctx.wait_for_event(name, topic)`.
    Event,
    /// `ctx.call(task, ...)`: a task in any language.
    Call,
    /// `ctx.start_child(workflow, ...)`: a child run.
    Child,
}

impl StepKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            StepKind::Step => "step",
            StepKind::Sleep => "sleep",
            StepKind::Event => "event",
            StepKind::Call => "call",
            StepKind::Child => "child",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            StepKind::Step,
            StepKind::Sleep,
            StepKind::Event,
            StepKind::Call,
            StepKind::Child,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Where a step stands. `done` and `failed` are final: a final entry is never rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Its code started (a replay finding it runs it again, at the same attempt).
    Running,
    /// It raised and will run again (`attempt` is the next one).
    Retrying,
    /// The run is suspended on it (sleep, event, call, child).
    Waiting,
    Done,
    Failed,
}

impl StepState {
    pub fn as_str(&self) -> &'static str {
        match self {
            StepState::Running => "running",
            StepState::Retrying => "retrying",
            StepState::Waiting => "waiting",
            StepState::Done => "done",
            StepState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            StepState::Running,
            StepState::Retrying,
            StepState::Waiting,
            StepState::Done,
            StepState::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    pub fn is_final(&self) -> bool {
        matches!(self, StepState::Done | StepState::Failed)
    }
}

/// One step of a run's journal, as the child sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub index: u32,
    pub name: String,
    pub kind: StepKind,
    pub state: StepState,
    /// 1 for the first run of the step's code; its own retries count up.
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
    /// A sleep's wake time (epoch ms, the store's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_at: Option<i64>,
    /// An event wait's topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// An event wait's timeout (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<i64>,
    /// An event wait that ended by its timeout, not an event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// The task a call started, or the child run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
}

impl JournalEntry {
    pub fn new(index: u32, name: &str, kind: StepKind, state: StepState, attempt: u32) -> Self {
        JournalEntry {
            index,
            name: name.to_string(),
            kind,
            state,
            attempt,
            result: None,
            error: None,
            wake_at: None,
            topic: None,
            deadline: None,
            timed_out: false,
            target: None,
            started_at: None,
            finished_at: None,
        }
    }
}

/// A `step` message: what the child's code reached at step `index`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMessage {
    /// The resume's task id.
    pub id: String,
    pub index: u32,
    pub name: String,
    #[serde(flatten)]
    pub op: StepOp,
}

/// What happened at a step. Every op but `start` is answered by a `step_ack`; after the ack of
/// a suspending op (`sleep`, `wait`, `call`, `child`, or a `retry` with a delay) the child
/// answers the task with `result` (any value) and runs nothing more of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StepOp {
    /// The step's code starts (not answered).
    Start { attempt: u32 },
    /// It returned.
    Done { attempt: u32, result: Value },
    /// It raised and will not run again: the run goes on and sees the error.
    Fail { attempt: u32, error: TaskError },
    /// It raised and runs again as `attempt + 1`, after `delay_ms` (the run suspends for it).
    Retry {
        attempt: u32,
        error: TaskError,
        #[serde(default)]
        delay_ms: u64,
    },
    /// Suspend until `until` (epoch ms) or for `delay_ms` from the first time it is asked.
    Sleep {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delay_ms: Option<u64>,
    },
    /// Suspend until an event on `topic` (or the timeout, from the first time it is asked).
    Wait {
        topic: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
    },
    /// Start task `task` (once per run) and suspend until its result.
    Call {
        task: String,
        #[serde(default)]
        args: Vec<Value>,
        #[serde(default)]
        kwargs: Map<String, Value>,
        /// `queue`, `priority`, `max_retries`, `time_limit`...: as an enqueue's options.
        #[serde(default, skip_serializing_if = "Map::is_empty")]
        options: Map<String, Value>,
    },
    /// Start a run of `workflow` (once per run) and suspend until it ends.
    Child {
        workflow: String,
        #[serde(default)]
        args: Vec<Value>,
        #[serde(default)]
        kwargs: Map<String, Value>,
    },
}

impl StepOp {
    pub fn kind(&self) -> &'static str {
        match self {
            StepOp::Start { .. } => "start",
            StepOp::Done { .. } => "done",
            StepOp::Fail { .. } => "fail",
            StepOp::Retry { .. } => "retry",
            StepOp::Sleep { .. } => "sleep",
            StepOp::Wait { .. } => "wait",
            StepOp::Call { .. } => "call",
            StepOp::Child { .. } => "child",
        }
    }

    /// Whether the child ends the resume after this op's ack.
    pub fn suspends(&self) -> bool {
        match self {
            StepOp::Retry { delay_ms, .. } => *delay_ms > 0,
            StepOp::Sleep { .. } | StepOp::Wait { .. } | StepOp::Call { .. } => true,
            StepOp::Child { .. } => true,
            _ => false,
        }
    }
}

/// The answer to a `step` message: `ok` once durable; otherwise `error` says why the resume
/// must stop (its lease is gone, the run was cancelled, the code no longer matches the journal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepAck {
    pub id: String,
    pub index: u32,
    pub ok: bool,
    /// Whether the child ends the resume now (the run is suspended).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
}

/// The error kind of a replay whose code no longer matches its journal.
pub const NONDETERMINISM: &str = "Nondeterminism";
/// The error kind of a step write refused because a newer resume holds the run.
pub const STALE_RESUME: &str = "StaleResume";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_message_round_trips_flat() {
        let line =
            r#"{"id":"t","index":2,"name":"charge","op":"done","attempt":1,"result":{"ok":true}}"#;
        let m: StepMessage = serde_json::from_str(line).unwrap();
        assert_eq!(
            m.op,
            StepOp::Done {
                attempt: 1,
                result: serde_json::json!({"ok": true})
            }
        );
        let back: Value = serde_json::to_value(&m).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(line).unwrap());
    }

    #[test]
    fn names() {
        assert_eq!(workflow_of("wf:checkout"), Some("checkout"));
        assert_eq!(workflow_of("wf:"), None);
        assert_eq!(workflow_of("add"), None);
        assert_eq!(call_id("r1", 3), "r1:3");
        assert!(StepOp::Sleep {
            until: None,
            delay_ms: Some(5)
        }
        .suspends());
        assert!(!StepOp::Retry {
            attempt: 1,
            error: TaskError::new("E", "m"),
            delay_ms: 0
        }
        .suspends());
    }
}
