//! The executor: runs one task in a child process, by the manifest's rules, and reports the
//! outcome. Runtime tasks go to their runtime's pool (process, pool or fork server); `exec`
//! tasks run their program directly. Time limits and stop requests are enforced here.

pub mod cgroup;
pub mod exec_task;
pub mod limits;
pub mod lines;
pub mod next;
pub mod pool;
pub mod probe;
pub mod procfs;
pub mod reaper;
pub mod session;
pub mod spawn;
pub mod stderr;
pub mod tree;
pub mod unix;

use crate::manifest::LoadedManifest;
use crate::observe::Observer;
use limits::{forced_outcome, next_stop, Forced, Limits, StopReceiver, StopRequest};
use next::{Handoff, Ticket};
use pool::{PoolState, RuntimePool};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use stem_protocol::manifest::{EffectiveTask, TaskKind};
use stem_protocol::workflow::{StepAck, StepMessage, WorkflowRun};
use stem_protocol::{TaskEnvelope, TaskError, TaskRequest};
use tokio::sync::{mpsc, oneshot};

/// What a running task reports besides its outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecEvent {
    /// The process that runs the task (the group that limits and revokes signal).
    Started {
        pid: u32,
    },
    Progress(Value),
    Heartbeat,
}

/// Where a run's events go; sending never blocks and never fails the run. A workflow resume's
/// sink also carries its run (handed to the child) and where its `step` messages go: each is
/// answered through the oneshot once what it says is durable.
#[derive(Clone, Default)]
pub struct EventSink {
    tx: Option<mpsc::UnboundedSender<ExecEvent>>,
    workflow: Option<Arc<WorkflowLink>>,
}

/// A workflow resume's side of the session.
pub struct WorkflowLink {
    pub run: WorkflowRun,
    pub steps: mpsc::UnboundedSender<(StepMessage, oneshot::Sender<StepAck>)>,
}

impl EventSink {
    pub fn new(tx: mpsc::UnboundedSender<ExecEvent>) -> Self {
        EventSink {
            tx: Some(tx),
            workflow: None,
        }
    }

    /// The same sink for a workflow resume.
    pub fn with_workflow(mut self, link: WorkflowLink) -> Self {
        self.workflow = Some(Arc::new(link));
        self
    }

    pub fn send(&self, event: ExecEvent) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(event);
        }
    }

    /// The run a workflow resume hands its child.
    pub fn workflow_run(&self) -> Option<WorkflowRun> {
        self.workflow.as_ref().map(|w| w.run.clone())
    }

    /// Hands a `step` message on; the answer comes through the receiver. `None` when this run
    /// is not a workflow resume (the child is out of step).
    pub fn step(&self, msg: StepMessage) -> Option<oneshot::Receiver<StepAck>> {
        let link = self.workflow.as_ref()?;
        let (tx, rx) = oneshot::channel();
        link.steps.send((msg, tx)).ok()?;
        Some(rx)
    }
}

/// How one run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub result: Result<Value, TaskError>,
    /// Tail of the child's stderr during the task.
    pub stderr: String,
    /// Set when the supervisor stopped the task by force.
    pub forced: Option<Forced>,
    /// Whether the child may serve another task (pool modes).
    pub healthy: bool,
}

pub struct Executor {
    manifest: Arc<LoadedManifest>,
    pools: BTreeMap<String, RuntimePool>,
}

impl Executor {
    /// Builds one pool per runtime; `concurrency` is the default pool size.
    pub fn new(
        manifest: Arc<LoadedManifest>,
        concurrency: usize,
        worker_id: &str,
        observer: Observer,
    ) -> Self {
        let mut pools = BTreeMap::new();
        for (name, rt) in &manifest.manifest.runtimes {
            let mut spec = manifest.runtime_spec(name, rt);
            spec.env
                .insert("STEM_WORKER_ID".into(), worker_id.to_string());
            pools.insert(
                name.clone(),
                RuntimePool::new(
                    name,
                    rt.isolation,
                    spec,
                    rt.pool_size.unwrap_or(concurrency),
                    rt.max_tasks_per_child,
                    rt.max_memory_mb,
                    observer.clone(),
                ),
            );
        }
        Executor { manifest, pools }
    }

    /// Starts warm children of pool and fork-server runtimes.
    pub fn prewarm(&self) {
        for pool in self.pools.values() {
            pool.prewarm();
        }
    }

    /// Whether some busy warm child could take a queued task (cheap; `reserve_next` claims).
    pub fn can_queue(&self) -> bool {
        self.pools.values().any(RuntimePool::can_queue)
    }

    /// A claim on a busy warm child's next slot for `task` (see `next.rs`), when its runtime
    /// pipelines.
    pub fn reserve_next(&self, task: &EffectiveTask) -> Option<Ticket> {
        match &task.kind {
            TaskKind::Runtime(rt) => self.pools.get(rt)?.reserve_next(),
            TaskKind::Exec(_) => None,
        }
    }

    /// Runs `envelope` as the manifest's `task` says, to completion or its limits; with a
    /// ticket, queued on the busy child it claims first.
    pub async fn run(
        &self,
        envelope: &TaskEnvelope,
        task: &EffectiveTask,
        events: &EventSink,
        stop: &mut StopReceiver,
        ticket: Option<Ticket>,
    ) -> RunOutcome {
        let limits = Limits::new(
            task.soft_time_limit,
            task.time_limit,
            unix::parse_signal(&task.soft_signal),
            task.soft_action,
        );
        match &task.kind {
            TaskKind::Exec(argv) => {
                let spec = self.manifest.exec_spec(task, argv);
                exec_task::run_exec(spec, envelope, limits, events, stop).await
            }
            TaskKind::Runtime(rt) => {
                let Some(pool) = self.pools.get(rt) else {
                    return RunOutcome {
                        result: Err(TaskError::new(
                            "UnknownTask",
                            format!("runtime {rt:?} is not defined"),
                        )
                        .permanent()),
                        stderr: String::new(),
                        forced: None,
                        healthy: true,
                    };
                };
                // The envelope's own `max_retries` (`enqueue --max-retries`) overrides the manifest.
                let retries_left = envelope
                    .max_retries
                    .unwrap_or(task.max_retries)
                    .saturating_sub(envelope.attempt.saturating_sub(1));
                let now = stem_protocol::now_ms();
                let request = TaskRequest {
                    id: envelope.id.clone(),
                    name: envelope.name.clone(),
                    args: envelope.args.clone(),
                    kwargs: envelope.kwargs.clone(),
                    queue: envelope.queue.clone(),
                    attempt: envelope.attempt,
                    retries_left,
                    deadline: task.time_limit.map(|d| now + d.as_millis() as i64),
                    soft_deadline: task.soft_time_limit.map(|d| now + d.as_millis() as i64),
                    time_limit_ms: None,
                    soft_time_limit_ms: None,
                    headers: envelope.headers.clone(),
                    workflow: events.workflow_run(),
                };
                let queued = match ticket {
                    Some(t) => {
                        let limits = (&request, task.soft_time_limit, task.time_limit);
                        queued_on(pool, t, limits, stop).await
                    }
                    None => Queued::Acquire,
                };
                let (mut session, written) = match queued {
                    Queued::Got(s, written) => (*s, written),
                    Queued::Stopped(f) => return forced_outcome(f, limits, String::new()),
                    Queued::Acquire | Queued::Moved => {
                        let acquired = if matches!(queued, Queued::Moved) {
                            tokio::select! {
                                got = pool.acquire_moved(task.rlimits) => got,
                                forced = hard_stop(stop) => {
                                    return forced_outcome(forced, limits, String::new())
                                }
                            }
                        } else {
                            pool.acquire(task.rlimits)
                        };
                        match acquired {
                            Ok(s) => (s, false),
                            Err(e) => {
                                return RunOutcome {
                                    result: Err(spawn::spawn_error(&e)),
                                    stderr: String::new(),
                                    forced: None,
                                    healthy: false,
                                }
                            }
                        }
                    }
                };
                pool.track(&session, request.workflow.is_some());
                // Limits count from the moment the child starts the task.
                let limits = Limits::new(
                    task.soft_time_limit,
                    task.time_limit,
                    limits.soft_signal,
                    limits.soft_action,
                );
                let outcome = session.run(&request, limits, events, stop, written).await;
                pool.release(session, outcome.healthy);
                outcome
            }
        }
    }

    pub fn pool_states(&self) -> Vec<PoolState> {
        self.pools.values().map(RuntimePool::state).collect()
    }

    /// Ends the warm children.
    pub async fn shutdown(&self) {
        for pool in self.pools.values() {
            pool.shutdown().await;
        }
    }
}

/// Where a queued run stands once it stops waiting.
enum Queued {
    /// The child was handed over; whether the task's line is already in its stdin.
    Got(Box<session::Session>, bool),
    /// Stopped while it waited (revoked with terminate, cold shutdown): never started.
    Stopped(Forced),
    /// Not queued: acquire a child as usual.
    Acquire,
    /// The task before it ended without handing the child over: another child, bounded by
    /// the pool's size (`RuntimePool::acquire_moved`).
    Moved,
}

/// Waits in the claimed slot of a busy child until the task ahead ends, or a stop comes.
async fn queued_on(
    pool: &RuntimePool,
    ticket: Ticket,
    (request, soft, hard): (&TaskRequest, Option<Duration>, Option<Duration>),
    stop: &mut StopReceiver,
) -> Queued {
    let Some((queued, mut rx)) = ticket.deposit(request.clone(), soft, hard) else {
        return Queued::Moved;
    };
    let handed = |h: Result<Handoff, _>| match h {
        Ok(Handoff::Session(s, written)) => Queued::Got(s, written),
        _ => Queued::Moved,
    };
    tokio::select! {
        h = &mut rx => handed(h),
        forced = hard_stop(stop) => {
            if !queued.cancel() {
                // The handoff was already sent: the child may hold this task's line.
                if let Ok(Handoff::Session(s, written)) = rx.await {
                    pool.track(&s, false);
                    pool.release(*s, !written);
                }
            }
            Queued::Stopped(forced)
        }
    }
}

/// The next stop that ends a queued run (terminate or kill; a soft stop acts once it runs).
async fn hard_stop(stop: &mut StopReceiver) -> Forced {
    loop {
        match next_stop(stop).await {
            StopRequest::Terminate { .. } => return Forced::Revoked,
            StopRequest::Kill => return Forced::Shutdown,
            _ => {
                if stop.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}
