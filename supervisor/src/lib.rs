//! Stem's supervisor: the worker runtime (consumer, dispatcher, executor, recorder), the beat
//! scheduler, the control plane, the operations behind every command (`ops`) and the CLI. `main.rs` only parses
//! arguments and calls into this library.

pub mod beat;
pub mod canvas;
pub mod cli;
pub mod exec;
pub mod logging;
pub mod manifest;
pub mod observe;
pub mod ops;
pub mod serve;
pub mod startup;
pub mod telemetry;
pub mod worker;
pub mod workflow;
