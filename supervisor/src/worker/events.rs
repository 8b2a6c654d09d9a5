//! What the dispatcher reacts to: its events (fetched batches, executor updates, commit
//! verdicts, lease answers, revocations, control requests, signals, gate verdicts, pauses,
//! debounce answers) and the shutdown phases.

use super::commits::Committed;
use super::execution::Finished;
use serde_json::Value;
use stem_adapters::{ControlRequest, Delivery, Revocation};
use tokio::sync::oneshot;

/// Shutdown phases, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Running,
    /// Stop fetching; finish running tasks; give reserved ones back.
    Warm,
    /// Kill running children and give their tasks back.
    Cold,
}

pub enum ExecUpdate {
    Pid(u32),
    Finished(Box<Finished>),
}

/// Everything the dispatcher reacts to.
pub enum Event {
    /// A fetch's answer and when it was sent.
    Fetched(Result<Vec<Delivery>, String>, std::time::Instant),
    Exec {
        receipt: String,
        update: ExecUpdate,
    },
    Committed(Committed),
    /// An extend call's answer: the receipts it carried, when it was sent, and those lost.
    Extended(super::leases::Extended),
    Revoked(Revocation),
    Control(ControlRequest, oneshot::Sender<Value>),
    /// Stats for a heartbeat.
    Snapshot(oneshot::Sender<Value>),
    /// SIGTERM or SIGINT: the first starts a warm shutdown, the next a cold one.
    Signal,
    /// A flow-control gate's verdict on a delivery.
    Gated {
        receipt: String,
        verdict: super::flow::GateVerdict,
    },
    /// A held delivery's wait is over.
    Regate(String),
    /// The queues paused in the store now.
    Paused(Vec<String>),
    /// The store's answer about a delivery's debounce burst.
    Debounced {
        receipt: String,
        answer: Result<stem_adapters::DebounceTake, String>,
    },
}
