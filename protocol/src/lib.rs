//! Stem's wire contract, with no I/O: the task envelope, task states and result records, the
//! JSON-lines messages between the supervisor and a child, and the `stem.toml` manifest and
//! schedule schemas.
//!
//! Every SDK (Python, Node, anything else) is written against this crate's `PROTOCOL.md` and the
//! transcripts in `protocol/vectors/`, which the Rust, Python and Node tests all replay.

pub mod canvas;
pub mod duration;
pub mod envelope;
pub mod fairness;
pub mod flow;
pub mod manifest;
mod manifest_checks;
pub mod manifest_workflows;
pub mod messages;
pub mod overrides;
pub mod record;
pub mod retry_policy;
pub mod schedule;
pub mod state;
pub mod trace;
pub mod workflow;

pub use envelope::{new_task_id, now_ms, now_us, TaskEnvelope};
pub use messages::{ChildMessage, SupervisorMessage, TaskError, TaskRequest, PROTOCOL_VERSION};
pub use record::TaskRecord;
pub use state::TaskState;
