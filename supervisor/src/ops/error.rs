//! What can go wrong in an operation, sorted by [`OpsError::kind`] so each caller answers in its
//! own terms: the CLI turns bad input into exit code 2 and the rest into 1; an HTTP API would
//! answer 400, 404 and 503.

use std::path::PathBuf;
use stem_adapters::AdapterError;

/// The three answers a caller gives to a failed operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpsErrorKind {
    /// The request is wrong as made (unknown task, invalid envelope, unusable manifest or URL):
    /// asking again unchanged will fail again.
    BadInput,
    /// The thing asked about does not exist (a dead letter that is not there).
    NotFound,
    /// A store (broker, result backend, revoke store, control plane) failed or refused the call.
    Unavailable,
}

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The manifest could not be read or parsed; the message names the file and line.
    #[error("{0}")]
    Manifest(String),

    #[error("unknown task {task:?}: {} names {}", manifest.display(), known.join(", "))]
    UnknownTask {
        task: String,
        manifest: PathBuf,
        /// The task names the manifest does have.
        known: Vec<String>,
    },

    /// The envelope breaks an invariant of the protocol (empty name, priority above 9, ...).
    #[error("{0}")]
    InvalidEnvelope(String),

    /// A canvas document that does not parse, or names a task the manifest does not have; the
    /// message starts with the path in the document (`chord.header[3].task`).
    #[error("{0}")]
    Canvas(String),

    #[error("no canvas {0:?} (unknown, or its records expired)")]
    CanvasNotFound(String),

    /// A schedule or a file of them is wrong; the message names the schedule and the field.
    #[error("{0}")]
    Schedule(String),

    #[error("no schedule {id:?}")]
    ScheduleNotFound { id: String },

    /// A task spec (API body, `stem enqueue --stdin` line) has a bad field.
    #[error("{field}: {message}")]
    InvalidSpec { field: String, message: String },

    /// The encoded task is bigger than its broker takes (see `docs/manifest.md`, payload sizes).
    #[error(
        "task {id}: its payload is {bytes} bytes, more than the {max} bytes the {broker} broker takes; \
         pass a reference to the data (a path, a URL, an object key) instead"
    )]
    PayloadTooLarge {
        id: String,
        bytes: usize,
        max: usize,
        broker: String,
    },

    #[error("too many tasks in one batch: {got} (at most {max})")]
    TooManyTasks { max: usize, got: usize },

    /// One task of a batch is wrong; nothing of the batch was published.
    #[error("tasks[{index}]: {source}")]
    InBatch { index: usize, source: Box<OpsError> },

    #[error("no dead letter {id:?} in queue {queue:?}")]
    DeadLetterNotFound { queue: String, id: String },

    #[error(
        "migrations are for Postgres; {:?} is not a postgres:// URL (SQLite and Redis need none)",
        stem_adapters::redact(.url)
    )]
    NotPostgres { url: String },

    #[error("this build has no Postgres support (cargo feature `postgres`)")]
    NoPostgresSupport,

    /// A store call failed. Even a configuration fault of the store is the operator's, not the
    /// caller's, so this is always [`OpsErrorKind::Unavailable`].
    #[error("unknown queue {queue:?}: no task was ever published to it and no manifest task routes to it (known: {})", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    UnknownQueue { queue: String, known: Vec<String> },

    #[error("no task {id:?} is known: no record, not in any queue (to revoke a task not yet published, use --force)")]
    NoSuchTask { id: String },

    /// A workflow request that cannot be done as asked (unknown workflow, a run already
    /// ended, no such step); the message says which.
    #[error("{0}")]
    Workflow(String),

    /// A workflow the manifest does not declare (the message names the manifest and those it does).
    #[error("{0}")]
    UnknownWorkflow(String),

    #[error("no workflow run {0:?}")]
    RunNotFound(String),

    /// A task with no record (not yet run, or its record expired).
    #[error("no record of task {0:?} (not yet run by a worker, or its record expired)")]
    NoRecord(String),

    /// A retry asked of a task that did not fail for good.
    #[error("task {id:?} is {state}, not failed: only a task that failed for good is retried")]
    NotFailed { id: String, state: String },

    #[error(transparent)]
    Store(#[from] AdapterError),
}

impl OpsError {
    pub fn kind(&self) -> OpsErrorKind {
        match self {
            OpsError::Manifest(_)
            | OpsError::UnknownTask { .. }
            | OpsError::InvalidEnvelope(_)
            | OpsError::Schedule(_)
            | OpsError::InvalidSpec { .. }
            | OpsError::TooManyTasks { .. }
            | OpsError::PayloadTooLarge { .. }
            | OpsError::NotPostgres { .. }
            | OpsError::NoPostgresSupport
            | OpsError::UnknownQueue { .. }
            | OpsError::Workflow(_)
            | OpsError::UnknownWorkflow(_)
            | OpsError::NotFailed { .. }
            | OpsError::Canvas(_) => OpsErrorKind::BadInput,
            OpsError::DeadLetterNotFound { .. }
            | OpsError::CanvasNotFound(_)
            | OpsError::ScheduleNotFound { .. }
            | OpsError::RunNotFound(_)
            | OpsError::NoRecord(_)
            | OpsError::NoSuchTask { .. } => OpsErrorKind::NotFound,
            OpsError::Store(_) => OpsErrorKind::Unavailable,
            OpsError::InBatch { source, .. } => source.kind(),
        }
    }
}

pub type OpsResult<T> = Result<T, OpsError>;
