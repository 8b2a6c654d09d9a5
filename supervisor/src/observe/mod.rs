//! The observer: every lifecycle step of a delivery and of a child (received, started, progress,
//! succeeded, failed, retried, dead-lettered, revoked, stale commit, lease lost, child spawned or
//! recycled) is reported once, as a typed [`Lifecycle`] value, to one [`Observer`], which hands
//! it to its sinks: the events stream ([`events::EventSink`]), the counters
//! ([`counters::Counters`]), the logs ([`log::LogSink`]) and OpenTelemetry ([`otel::OtelSink`]:
//! metrics and a span per attempt; its gauges are in [`gauges`]).

pub mod counters;
pub mod events;
pub mod gauges;
pub mod log;
pub mod otel;
pub mod otel_workflow;
pub mod privacy;
pub mod timing;

use serde_json::Value;
use std::sync::Arc;
use stem_protocol::trace::{self, TraceParent};
use stem_protocol::TaskEnvelope;

/// Which task a lifecycle step is about.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRef {
    pub id: String,
    pub name: String,
    pub queue: String,
    pub attempt: u32,
    /// When it could first run (epoch ms): its eta, else its creation; queue wait starts here.
    pub ready_at: i64,
    /// The producer's trace context (`headers.traceparent`), when valid.
    pub trace: Option<TraceParent>,
}

impl TaskRef {
    /// The reference to the task `env` is.
    pub fn of(env: &TaskEnvelope) -> TaskRef {
        TaskRef {
            id: env.id.clone(),
            name: env.name.clone(),
            queue: env.queue.clone(),
            attempt: env.attempt,
            ready_at: env.eta.unwrap_or(0).max(env.created_at),
            trace: env
                .headers
                .get(trace::HEADER)
                .and_then(|v| TraceParent::parse(v)),
        }
    }
}

/// One step of a delivery's or a child's life.
#[derive(Debug, Clone, PartialEq)]
pub enum Lifecycle {
    Received(TaskRef),
    Started(TaskRef),
    Progress(TaskRef, Value),
    /// The child is done; its outcome is on its way to the store.
    Ran(TaskRef),
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
    /// A broker call failed (`op`: fetch, commit).
    BrokerError {
        op: &'static str,
    },
    /// The broker answered again after errors.
    BrokerRecovered,
    /// A delivery waited `ms` at a flow-control gate, held by `limit` (`TASK.max_concurrency`,
    /// `limits.NAME.rate`, …), before it passed.
    Throttled {
        limit: String,
        ms: u64,
    },
    /// A workflow step journaled by the resume `task` (done, failed, retrying, waiting).
    WorkflowStep {
        task: TaskRef,
        step: WorkflowStep,
    },
    /// A workflow run moved (suspended, completed, failed, cancelled, timed_out) in the resume
    /// `task`.
    WorkflowRun {
        task: TaskRef,
        run: String,
        workflow: String,
        state: &'static str,
    },
}

/// A journaled step, as the sinks see it (names only: never its result).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowStep {
    pub run: String,
    pub workflow: String,
    pub index: u32,
    pub name: String,
    pub kind: &'static str,
    pub state: &'static str,
    pub attempt: u32,
    /// Epoch ms.
    pub started_at: i64,
    pub finished_at: i64,
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
