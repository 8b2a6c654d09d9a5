//! Stem's storage adapters: small traits (`Broker`, `ResultBackend`, `RevokeStore`,
//! `ControlPlane`, `ScheduleStore`, `StatsHistory`, `WorkflowStore`) and one module per backend, chosen by URL scheme with [`connect`].
//!
//! The traits hold only the primitives a backend must provide: the hot path (publish, leased
//! fetch, extend, and one fenced [`commit`](commit::Commit) per outcome), the admin surface
//! ([`BrokerAdmin`]: dead letters, counts, queues), records, revocations and control. Envelopes
//! and records go through the one [`codec`]. Retries, lease-extension policy, DLQ routing and
//! revokes are supervisor logic written once on top. Every backend runs the one contract suite in
//! the `stem-contract` crate (`adapters/contract`), a dev-dependency, not part of this library.

pub mod admin;
pub mod backend;
pub mod broker;
pub mod codec;
pub mod commit;
pub mod connect;
pub mod control;
pub mod debounce;
pub mod error;
pub mod flow;
pub mod history;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
mod redact;
#[cfg(feature = "redis")]
pub mod redis;
pub mod revoke;
pub mod schedule;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "tls")]
pub mod tls;
pub mod wait;
pub mod workflow;

pub use admin::{BrokerAdmin, Held, Peeked};
pub use backend::{RecordFilter, ResultBackend};
pub use broker::{Broker, DeadLetter, Delivery, Payload, QueueCounts};
pub use commit::{Action, Commit, Verdict};
pub use connect::{connect, Adapters, ConnectOptions, URL_SCHEMES};
pub use control::{ControlPlane, ControlReply, ControlRequest, Heartbeat, TaskEvent};
pub use debounce::{DebouncePut, DebounceTake};
pub use error::{AdapterError, ErrorKind, Result};
pub use flow::FlowControl;
pub use history::{minute_of, MinuteCounts, StatsHistory};
pub use redact::redact;
pub use revoke::{Revocation, RevokeStore};
pub use schedule::{Leader, ScheduleState, ScheduleStore, StateUpdate, StoredSchedule};
pub use workflow::{RunState, WorkflowStore};
