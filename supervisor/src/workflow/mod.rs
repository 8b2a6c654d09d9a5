//! Durable workflows, built from what the queue already guarantees: a run executes as ordinary
//! deliveries of the task `wf:NAME`, one per resume — leased, limited, retried, revoked, signed
//! and sealed like any task. A resume claims its run (`resume.rs`), its child replays the code
//! from the top against the journal and every step it passes is journaled, fenced by the
//! resume's generation, before the child goes on (`steps.rs`); calls and child runs are
//! published with stable ids (`targets.rs`); sleeps and event waits end the resume, whose own
//! fenced commit publishes the timer resume (`publish.rs`, `settle.rs`). Payloads go through the codec
//! (`data.rs`). See `docs/workflows.md`.

pub mod data;
pub mod publish;
pub mod resume;
pub mod settle;
pub mod steps;
pub mod targets;
