//! The child protocol: JSON lines over the child's stdin (supervisor → child) and stdout
//! (child → supervisor). Each line is one object with a `type` field. Optional fields are
//! omitted when absent, never `null`. See `protocol/PROTOCOL.md`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The protocol version a child announces in its `hello`; the supervisor refuses others.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest line the supervisor accepts from a child (bytes, newline excluded).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Lines the supervisor writes to a child's stdin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SupervisorMessage {
    /// Run one task and answer with `result` or `error` for its id.
    Task(TaskRequest),
    /// Finish up and exit with status 0 (pool children between tasks).
    Shutdown,
    /// A workflow step's `step` message is durable (or refused: the resume must stop).
    StepAck(crate::workflow::StepAck),
    /// Do not start task `id`, queued ahead on a pipelining child: answer `withdrawn` when its
    /// turn comes (ignored if it already started).
    Withdraw { id: String },
}

/// One task for a child to run, with its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub id: String,
    pub name: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
    pub queue: String,
    pub attempt: u32,
    pub retries_left: u32,
    /// Hard deadline (epoch ms) after which the process group is killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<i64>,
    /// Soft deadline (epoch ms) at which the soft-limit signal is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_deadline: Option<i64>,
    /// A line written ahead of its start (pipelining): the hard limit in ms from the task's
    /// own start, in place of `deadline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_ms: Option<u64>,
    /// A line written ahead: the soft limit in ms from the task's own start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_time_limit_ms: Option<u64>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A workflow resume (`wf:NAME`): the run to replay and its journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<crate::workflow::WorkflowRun>,
}

/// Lines a child writes to its stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChildMessage {
    /// First line a child writes: its protocol version, SDK and the tasks it serves.
    Hello {
        protocol: u32,
        sdk: String,
        tasks: Vec<String>,
        /// How many task lines the child takes ahead of the one it runs (and it honours
        /// `withdraw`); absent: one at a time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pipeline: Option<u32>,
    },
    /// Fork-server isolation only: the server forked process `pid` (its own process group
    /// leader) to run task `id`; limits and revokes signal that group.
    Forked { id: String, pid: u32 },
    /// The task `id` succeeded with `value` (any JSON, `null` included).
    Result { id: String, value: Value },
    /// The task `id` failed.
    Error { id: String, error: TaskError },
    /// Progress of task `id`: any JSON, e.g. `{"current": 3, "total": 10}`.
    Progress { id: String, progress: Value },
    /// Task `id` is alive (recorded; lets the supervisor know a long task still works).
    Heartbeat { id: String },
    /// A log line from task `id`, forwarded to the supervisor's log.
    Log {
        id: String,
        level: String,
        message: String,
    },
    /// A workflow resume reached a step (see [`crate::workflow::StepOp`]).
    Step(crate::workflow::StepMessage),
    /// Task `id`, queued ahead, was withdrawn before it started (it ran nothing).
    Withdrawn { id: String },
}

/// A task failure as the child reports it (and as the result record keeps it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskError {
    /// The exception class or error kind, e.g. `ValueError`, `Timeout`, `UnknownTask`.
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    #[serde(default)]
    pub traceback: String,
    /// False when the task asked not to be retried.
    #[serde(default = "yes")]
    pub retryable: bool,
    /// Seconds to wait before the retry the task asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countdown: Option<f64>,
    /// The error's type chain, most derived first (Python: the class's MRO names; JS: the
    /// constructor names along the prototype chain), matched by the manifest's `retry_on` /
    /// `no_retry_on`. Empty (left out) for errors Stem raises itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
}

fn yes() -> bool {
    true
}

impl TaskError {
    /// An error raised by Stem itself (not by task code).
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        TaskError {
            kind: kind.into(),
            message: message.into(),
            traceback: String::new(),
            retryable: true,
            countdown: None,
            types: Vec::new(),
        }
    }

    /// Whether the error is of type `name`: its own `type` or one in its chain.
    pub fn is_a(&self, name: &str) -> bool {
        self.kind == name || self.types.iter().any(|t| t == name)
    }

    pub fn permanent(mut self) -> Self {
        self.retryable = false;
        self
    }

    pub fn with_traceback(mut self, tb: impl Into<String>) -> Self {
        self.traceback = tb.into();
        self
    }
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl SupervisorMessage {
    /// One protocol line, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("messages always serialize");
        s.push('\n');
        s
    }
}

impl ChildMessage {
    /// The message's `type`, for errors that name what a child sent.
    pub fn kind(&self) -> &'static str {
        match self {
            ChildMessage::Hello { .. } => "hello",
            ChildMessage::Forked { .. } => "forked",
            ChildMessage::Result { .. } => "result",
            ChildMessage::Error { .. } => "error",
            ChildMessage::Progress { .. } => "progress",
            ChildMessage::Heartbeat { .. } => "heartbeat",
            ChildMessage::Log { .. } => "log",
            ChildMessage::Step(_) => "step",
            ChildMessage::Withdrawn { .. } => "withdrawn",
        }
    }

    /// Parses one line from a child, quoting (truncated) bytes that are not a message.
    pub fn parse_line(line: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(line).map_err(|e| {
            format!(
                "child wrote a line that is not a protocol message ({e}): {}",
                quote_bytes(line, 200)
            )
        })
    }

    /// The task id the message is about, if any.
    pub fn task_id(&self) -> Option<&str> {
        match self {
            ChildMessage::Hello { .. } => None,
            ChildMessage::Result { id, .. }
            | ChildMessage::Forked { id, .. }
            | ChildMessage::Error { id, .. }
            | ChildMessage::Progress { id, .. }
            | ChildMessage::Heartbeat { id }
            | ChildMessage::Log { id, .. }
            | ChildMessage::Withdrawn { id } => Some(id),
            ChildMessage::Step(m) => Some(&m.id),
        }
    }
}

/// Quotes bytes for an error message: lossy UTF-8, at most `max` bytes, marked when cut.
pub fn quote_bytes(bytes: &[u8], max: usize) -> String {
    let cut = bytes.len() > max;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max)]);
    if cut {
        format!("{text:?} (truncated, {} bytes in all)", bytes.len())
    } else {
        format!("{text:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_quoted_and_truncated() {
        let err = ChildMessage::parse_line(&[b'x'; 500]).unwrap_err();
        assert!(err.contains("truncated, 500 bytes"), "{err}");
    }

    #[test]
    fn error_defaults_to_retryable() {
        let m = ChildMessage::parse_line(
            br#"{"type":"error","id":"t","error":{"type":"E","message":"m"}}"#,
        )
        .unwrap();
        match m {
            ChildMessage::Error { error, .. } => assert!(error.retryable),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shutdown_line() {
        assert_eq!(
            SupervisorMessage::Shutdown.to_line(),
            "{\"type\":\"shutdown\"}\n"
        );
    }
}
