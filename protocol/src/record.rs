//! The result record a backend keeps per task: state, value or error, attempts, timestamps.

use crate::{TaskError, TaskState};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The fencing token of the delivery that wrote this record: the broker's lease grant time
    /// (µs on the broker's clock), which only grows from one owner of a task to the next. A
    /// backend writes a record only over one with a generation no newer, so a stale worker
    /// cannot overwrite what a newer owner recorded. 0 for records no delivery wrote. Serialized
    /// first, so a store can read it off the front of the JSON without decoding the rest.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: u64,
    pub id: String,
    pub name: String,
    pub queue: String,
    pub state: TaskState,
    /// The attempt this record describes (1-based).
    pub attempt: u32,
    /// The task's positional arguments, kept so an operator can see what ran (or failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Value>,
    /// The task's keyword arguments.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub kwargs: Map<String, Value>,
    /// The return value, once `state` is `success`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The latest error, when `state` is `retry`, `failure` or `revoked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
    /// Every failed attempt's error, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<TaskError>,
    /// The latest progress the task reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Value>,
    /// The worker that ran (or runs) the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// Tail of the child's stderr, kept for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    pub updated_at: i64,
    /// `ALGORITHM:KEY_ID:BASE64`: the writer's signature of the id, state, result and error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// `KEY_ID:BASE64` of the sealed result, errors, progress and stderr (then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
    /// The run of the task id this record describes: the envelope's [`RUN_HEADER`] (set when it
    /// was published with a unique lock). A unique lock is taken over only when the record of
    /// the run that holds it is final, never on an earlier run's final record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

/// The envelope header naming the run that holds its unique lock (`TASK_ID#NONCE`): the same
/// for every attempt of one publish, new for each publish (and each replay) of the id.
pub const RUN_HEADER: &str = "stem-unique-holder";

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TaskRecord {
    /// A `pending` record for a task just published.
    pub fn pending(env: &crate::TaskEnvelope) -> Self {
        TaskRecord {
            generation: 0,
            id: env.id.clone(),
            name: env.name.clone(),
            queue: env.queue.clone(),
            state: TaskState::Pending,
            attempt: env.attempt,
            args: env.args.clone(),
            kwargs: env.kwargs.clone(),
            result: None,
            error: None,
            errors: Vec::new(),
            progress: None,
            worker: None,
            stderr: None,
            created_at: env.created_at,
            started_at: None,
            finished_at: None,
            updated_at: crate::now_ms(),
            signature: None,
            sealed: None,
            run: env.headers.get(RUN_HEADER).cloned(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a record always serializes")
    }

    pub fn from_json(raw: &str) -> Result<Self, String> {
        serde_json::from_str(raw).map_err(|e| format!("malformed task record: {e}"))
    }
}
