//! Children of one runtime, by isolation: `process` starts a fresh child per task and ends it
//! after; `pool` keeps warm children and reuses them, recycling one after `max_tasks_per_child`
//! tasks or when its RSS passes `max_memory_mb`, and replacing one that a limit or a crash
//! ended, and lets a busy child hold the next task (`next.rs`); `forkserver` keeps warm servers
//! that fork per task. A broken child fails only its current task.

use super::next::{Handoff, NextSlot, Ticket};
use super::session::Session;
use super::spawn::SpawnSpec;
use super::unix::rss_mb;
use crate::observe::{Lifecycle, Observer};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use stem_protocol::manifest::{Isolation, Rlimits};

pub struct RuntimePool {
    pub name: String,
    pub isolation: Isolation,
    spec: SpawnSpec,
    size: usize,
    max_tasks: Option<u32>,
    max_memory_mb: Option<u64>,
    idle: Mutex<Vec<Session>>,
    /// Children running a task (pool isolation): pid, tasks served once the current one ends,
    /// and the slot for the next.
    busy: Mutex<Vec<(u32, u32, Arc<NextSlot>)>>,
    /// Busy children may hold the next task (pool isolation; `STEM_PIPELINE=0` turns it off).
    pipelines: bool,
    started: AtomicU64,
    recycled: AtomicU64,
    replaced: AtomicU64,
    handed_over: AtomicU64,
    observer: Observer,
}

/// A pool's state for `stem worker stats`.
#[derive(Debug, Clone, Serialize)]
pub struct PoolState {
    pub runtime: String,
    pub isolation: String,
    pub size: usize,
    pub idle: usize,
    pub started: u64,
    pub recycled: u64,
    pub replaced: u64,
    /// Tasks that were queued on a busy child and ran on it next.
    pub pipelined: u64,
}

impl RuntimePool {
    pub fn new(
        name: &str,
        isolation: Isolation,
        spec: SpawnSpec,
        size: usize,
        max_tasks: Option<u32>,
        max_memory_mb: Option<u64>,
        observer: Observer,
    ) -> Self {
        RuntimePool {
            name: name.to_string(),
            isolation,
            spec,
            size: size.max(1),
            max_tasks,
            max_memory_mb,
            idle: Mutex::new(Vec::new()),
            busy: Mutex::new(Vec::new()),
            // Not with a memory cap: whether a child is worn is known only after its task
            // answered, when the queued line would already be in its stdin.
            pipelines: isolation == Isolation::Pool
                && max_memory_mb.is_none()
                && std::env::var("STEM_PIPELINE").map_or(true, |v| v != "0"),
            started: AtomicU64::new(0),
            recycled: AtomicU64::new(0),
            replaced: AtomicU64::new(0),
            handed_over: AtomicU64::new(0),
            observer,
        }
    }

    /// Reports a child that started.
    fn spawned(&self, started: std::io::Result<Session>) -> std::io::Result<Session> {
        if let Ok(s) = &started {
            self.observer.emit(Lifecycle::ChildSpawned {
                runtime: self.name.clone(),
                pid: s.pid,
            });
        }
        started
    }

    fn retired(&self, session: &Session, why: &str) {
        self.observer.emit(Lifecycle::ChildRecycled {
            runtime: self.name.clone(),
            pid: session.pid,
            why: why.to_string(),
        });
    }

    fn warm(&self) -> bool {
        self.isolation != Isolation::Process
    }

    fn start(&self) -> std::io::Result<Session> {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.spawned(Session::start(
            &self.spec,
            self.isolation == Isolation::Forkserver,
        ))
    }

    /// A fresh child for one task, with that task's rlimits over the runtime's (`process`
    /// isolation only: warm children are shared by tasks and keep the runtime's limits).
    fn start_with(&self, rlimits: Rlimits) -> std::io::Result<Session> {
        if rlimits == Rlimits::default() {
            return self.start();
        }
        self.started.fetch_add(1, Ordering::Relaxed);
        let mut spec = self.spec.clone();
        let runtime = self.spec.rlimits;
        spec.rlimits = Rlimits {
            memory_mb: rlimits.memory_mb.or(runtime.memory_mb),
            cpu_seconds: rlimits.cpu_seconds.or(runtime.cpu_seconds),
            open_files: rlimits.open_files.or(runtime.open_files),
        };
        self.spawned(Session::start(&spec, false))
    }

    /// Starts warm children up to the pool size, so the first tasks do not pay start-up.
    pub fn prewarm(&self) {
        if !self.warm() {
            return;
        }
        let mut idle = self.idle.lock().expect("pool lock");
        while idle.len() < self.size {
            match self.start() {
                Ok(s) => idle.push(s),
                Err(e) => {
                    tracing::error!(runtime = %self.name, "cannot start a pool child: {e}");
                    break;
                }
            }
        }
    }

    /// A child ready for one task: an idle warm one, or a new one.
    pub fn acquire(&self, rlimits: Rlimits) -> std::io::Result<Session> {
        if !self.warm() {
            return self.start_with(rlimits);
        }
        let idle = self.idle.lock().expect("pool lock").pop();
        let session = match idle {
            Some(s) => s,
            None => self.start()?,
        };
        self.track(&session);
        Ok(session)
    }

    /// Notes a child as running a task (its next slot can be claimed).
    pub fn track(&self, session: &Session) {
        if self.pipelines {
            let entry = (session.pid, session.served + 1, session.next.clone());
            self.busy.lock().expect("pool lock").push(entry);
        }
    }

    /// The first `pick` of the next slots a queued run may take: only in pool isolation, when
    /// no child is idle, and not on a child its current task wears out.
    fn first_open<T>(&self, pick: impl FnMut(&Arc<NextSlot>) -> Option<T>) -> Option<T> {
        if !self.pipelines || !self.idle.lock().expect("pool lock").is_empty() {
            return None;
        }
        let busy = self.busy.lock().expect("pool lock");
        busy.iter()
            .filter(|(_, served, _)| self.max_tasks.is_none_or(|m| *served < m))
            .map(|(_, _, slot)| slot)
            .find_map(pick)
    }

    /// Whether `reserve_next` could find a slot now.
    pub fn can_queue(&self) -> bool {
        self.first_open(|slot| slot.free().then_some(())).is_some()
    }

    /// A claim on the next slot of a busy child, for a run beyond the slots that are free.
    pub fn reserve_next(&self) -> Option<Ticket> {
        self.first_open(|slot| slot.claim())
    }

    /// Gives a child back after a task: handed straight to the task queued on it when healthy,
    /// else unhealthy children are killed (and replaced at the next acquire), worn ones
    /// recycled, healthy warm ones kept. A child whose stdin holds a queued task that will not
    /// run on it is killed, never closed (it would run that task first).
    pub fn release(&self, mut session: Session, healthy: bool) {
        if !self.warm() {
            tokio::spawn(session.close());
            return;
        }
        self.busy
            .lock()
            .expect("pool lock")
            .retain(|(pid, _, _)| *pid != session.pid);
        let (waiter, written, poisoned) = session.next.settle();
        let worn = healthy
            && (self.max_tasks.is_some_and(|m| session.served >= m)
                || self
                    .max_memory_mb
                    .is_some_and(|m| rss_mb(session.pid).is_some_and(|rss| rss > m)));
        if let Some(tx) = waiter {
            if healthy && !worn && !poisoned {
                match tx.send(Handoff::Session(Box::new(session), written)) {
                    Ok(()) => {
                        self.handed_over.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Err(Handoff::Session(s, _)) => session = *s,
                    Err(Handoff::Fresh) => unreachable!("sent a session"),
                }
            } else {
                let _ = tx.send(Handoff::Fresh);
            }
        }
        if !healthy || written || poisoned {
            self.replaced.fetch_add(1, Ordering::Relaxed);
            let why = if healthy {
                "holding a queued task that moved to another child; replaced"
            } else {
                "broken by its last task; replaced"
            };
            self.retired(&session, why);
            tokio::spawn(session.kill());
            return;
        }
        if worn {
            self.recycled.fetch_add(1, Ordering::Relaxed);
            self.retired(
                &session,
                &format!(
                    "worn after {} task(s) or over its memory cap",
                    session.served
                ),
            );
            tokio::spawn(session.close());
            return;
        }
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < self.size {
            idle.push(session);
        } else {
            drop(idle);
            tokio::spawn(session.close());
        }
    }

    /// Ends every idle child (warm shutdown).
    pub async fn shutdown(&self) {
        let sessions: Vec<Session> = std::mem::take(&mut *self.idle.lock().expect("pool lock"));
        futures::future::join_all(sessions.into_iter().map(Session::close)).await;
    }

    pub fn state(&self) -> PoolState {
        PoolState {
            runtime: self.name.clone(),
            isolation: format!("{:?}", self.isolation).to_lowercase(),
            size: self.size,
            idle: self.idle.lock().expect("pool lock").len(),
            started: self.started.load(Ordering::Relaxed),
            recycled: self.recycled.load(Ordering::Relaxed),
            replaced: self.replaced.load(Ordering::Relaxed),
            pipelined: self.handed_over.load(Ordering::Relaxed),
        }
    }
}
