//! The executor: runs one task in a child process, by the manifest's rules, and reports the
//! outcome. Runtime tasks go to their runtime's pool (process, pool or fork server); `exec`
//! tasks run their program directly. Time limits and stop requests are enforced here.

pub mod exec_task;
pub mod limits;
pub mod lines;
pub mod pool;
pub mod probe;
pub mod reaper;
pub mod session;
pub mod spawn;
pub mod stderr;
pub mod unix;

use crate::manifest::LoadedManifest;
use crate::observe::Observer;
use limits::{Forced, Limits, StopReceiver};
use pool::{PoolState, RuntimePool};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use stem_protocol::manifest::{EffectiveTask, TaskKind};
use stem_protocol::{TaskEnvelope, TaskError, TaskRequest};
use tokio::sync::mpsc;

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

/// Where a run's events go; sending never blocks and never fails the run.
#[derive(Clone)]
pub struct EventSink(Option<mpsc::UnboundedSender<ExecEvent>>);

impl EventSink {
    pub fn new(tx: mpsc::UnboundedSender<ExecEvent>) -> Self {
        EventSink(Some(tx))
    }
    pub fn send(&self, event: ExecEvent) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(event);
        }
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

    /// Runs `envelope` as the manifest's `task` says, to completion or its limits.
    pub async fn run(
        &self,
        envelope: &TaskEnvelope,
        task: &EffectiveTask,
        events: &EventSink,
        stop: &mut StopReceiver,
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
                    headers: envelope.headers.clone(),
                };
                let mut session = match pool.acquire(task.rlimits) {
                    Ok(s) => s,
                    Err(e) => {
                        return RunOutcome {
                            result: Err(spawn::spawn_error(&e)),
                            stderr: String::new(),
                            forced: None,
                            healthy: false,
                        }
                    }
                };
                let outcome = session.run(&request, limits, events, stop).await;
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
