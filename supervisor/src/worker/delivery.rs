//! One delivery's state as the dispatcher holds it: `Reserved` (leased, waiting for a run slot),
//! `Running` (a child has it), `Committing` (its outcome is on its way to the store); `Done` is
//! leaving the map. Only the dispatcher reads or changes these.

use crate::exec::limits::StopRequest;
use crate::observe::TaskRef;
use stem_adapters::Delivery;
use tokio::sync::watch;

pub struct Entry {
    pub delivery: Delivery,
    pub stage: Stage,
    /// The broker reported this lease lost while the task ran: its commit is expected to be
    /// refused as stale.
    pub lease_lost: bool,
    /// Its place at a flow-control gate (rate limit, concurrency limit).
    pub gate: super::flow::GateState,
    /// When its lease was last confirmed current (fetched, or extended: the call's start), on
    /// this process's monotonic clock.
    pub confirmed: std::time::Instant,
    /// Reserved and held out of the waiting line until an extend call confirms its lease.
    pub parked: bool,
    /// Its payload is its debounce burst's latest envelope, taken from the store.
    pub debounced: bool,
    /// Its virtual start in the worker's waiting line (0 without a fairness key).
    pub fair_vt: u64,
}

pub enum Stage {
    Reserved,
    Running(Running),
    Committing(Outcome),
}

/// What a running delivery is doing, for `inspect`, revokes and shutdown.
pub struct Running {
    pub task: TaskRef,
    /// The canvas it belongs to, if any (a canvas revoke stops it too).
    pub canvas: Option<String>,
    pub runtime: String,
    pub started_at: i64,
    pub pid: Option<u32>,
    pub stop: watch::Sender<StopRequest>,
}

/// What a commit on its way means once applied (reported to the observer then, and only then).
#[derive(Debug, Clone)]
pub enum Outcome {
    Succeeded(TaskRef),
    Retried {
        task: TaskRef,
        error: String,
        delay_ms: u64,
    },
    Failed {
        task: TaskRef,
        error: String,
        reason: String,
    },
    /// A malformed payload moved to the dead letters.
    Malformed {
        task: TaskRef,
        reason: String,
    },
    Expired(TaskRef),
    Revoked {
        task: TaskRef,
        before_start: bool,
    },
    /// Put back unrecorded: not yet due, or shutdown.
    Released {
        task: TaskRef,
        at_shutdown: bool,
    },
    /// Acknowledged unrun and unrecorded: its debounce burst's run already finished.
    Superseded(TaskRef),
}

impl Outcome {
    pub fn task(&self) -> &TaskRef {
        match self {
            Outcome::Succeeded(t) | Outcome::Expired(t) | Outcome::Superseded(t) => t,
            Outcome::Retried { task, .. }
            | Outcome::Failed { task, .. }
            | Outcome::Malformed { task, .. }
            | Outcome::Revoked { task, .. }
            | Outcome::Released { task, .. } => task,
        }
    }
}

/// The task a delivery names (or a stand-in for a malformed payload).
pub fn task_ref(d: &Delivery) -> TaskRef {
    match d.task() {
        Some(env) => TaskRef::of(env),
        None => TaskRef {
            id: d.task_id(),
            name: String::new(),
            queue: d.queue.clone(),
            attempt: 0,
            ready_at: 0,
            trace: None,
        },
    }
}
