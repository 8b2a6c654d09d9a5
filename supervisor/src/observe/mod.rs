//! The observer: every lifecycle step of a delivery and of a child (received, started, progress,
//! succeeded, failed, retried, dead-lettered, revoked, stale commit, lease lost, child spawned or
//! recycled) is reported once, as a typed [`Lifecycle`] value, to one [`Observer`], which hands
//! it to its sinks: the events stream ([`events::EventSink`]), the counters
//! ([`counters::Counters`]) and the logs ([`log::LogSink`]). A metrics exporter is one more sink.

pub mod counters;
pub mod events;
pub mod log;

use serde_json::Value;
use std::sync::Arc;

/// Which task a lifecycle step is about.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRef {
    pub id: String,
    pub name: String,
    pub queue: String,
    pub attempt: u32,
}

/// One step of a delivery's or a child's life.
#[derive(Debug, Clone, PartialEq)]
pub enum Lifecycle {
    Received(TaskRef),
    Started(TaskRef),
    Progress(TaskRef, Value),
    Succeeded(TaskRef),
    Retried {
        task: TaskRef,
        error: String,
        delay_ms: u64,
    },
    /// A final failure (its delivery goes to the dead letters).
    Failed {
        task: TaskRef,
        error: String,
        reason: String,
    },
    /// A delivery moved to the dead letters (a final failure, or a malformed payload).
    DeadLettered {
        task: TaskRef,
        reason: String,
    },
    Revoked {
        task: TaskRef,
        before_start: bool,
    },
    /// Not started before its `expires_at`: recorded `expired`, never run.
    Expired(TaskRef),
    /// A commit refused because this worker's lease was no longer current.
    StaleCommit {
        task: TaskRef,
        owner: Option<String>,
    },
    /// The broker reported a lease of this worker lost before its outcome was committed.
    LeaseLost {
        task: TaskRef,
        running: bool,
    },
    /// A delivery given back to the broker unrecorded (shutdown).
    GivenBack(TaskRef),
    ChildSpawned {
        runtime: String,
        pid: u32,
    },
    ChildRecycled {
        runtime: String,
        pid: u32,
        why: String,
    },
}

/// Where lifecycle steps go.
pub trait Sink: Send + Sync {
    fn observe(&self, worker: &str, event: &Lifecycle);
}

/// The one place lifecycle steps are reported to; cheap to clone.
#[derive(Clone)]
pub struct Observer {
    worker: Arc<str>,
    sinks: Arc<[Arc<dyn Sink>]>,
}

impl Observer {
    pub fn new(worker: &str, sinks: Vec<Arc<dyn Sink>>) -> Self {
        Observer {
            worker: worker.into(),
            sinks: sinks.into(),
        }
    }

    /// An observer that drops everything (for callers that have no worker around them).
    pub fn discard() -> Self {
        Observer::new("", Vec::new())
    }

    pub fn emit(&self, event: Lifecycle) {
        for sink in self.sinks.iter() {
            sink.observe(&self.worker, &event);
        }
    }
}
