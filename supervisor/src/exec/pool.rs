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
use std::time::Duration;
use stem_protocol::manifest::{Isolation, Rlimits};

/// The work a busy child's queue holds ahead, by the pool's recent run times.
const AHEAD_WORK: Duration = Duration::from_millis(1);
/// The most tasks queued on one busy child (the SDKs take 32 lines ahead).
pub const MAX_DEPTH: usize = 32;

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
    /// Busy children may hold the next tasks (pool isolation; `STEM_PIPELINE=0` turns it off).
    pipelines: bool,
    /// Moving average of a task's run on a child, start to answer (ns; 0 until one ended).
    avg_run_ns: AtomicU64,
    /// `STEM_PIPELINE_DEPTH`: a fixed depth instead of the adaptive one (measuring, tests).
    fixed_depth: Option<usize>,
    /// Children alive (each session holds a token), woken as one goes idle or is gone.
    live: Arc<Live>,
    started: AtomicU64,
    recycled: AtomicU64,
    replaced: AtomicU64,
    handed_over: AtomicU64,
    observer: Observer,
}

/// A pool's live children: how many, and a wake-up when one goes idle or is gone.
#[derive(Default)]
pub struct Live {
    pub count: std::sync::atomic::AtomicUsize,
    pub changed: tokio::sync::Notify,
}

/// A child's place in its pool's count, given back (with a wake-up) as it drops.
pub struct LiveToken(Arc<Live>);

impl LiveToken {
    pub fn new(live: &Arc<Live>) -> LiveToken {
        live.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        LiveToken(live.clone())
    }
}

impl Drop for LiveToken {
    fn drop(&mut self) {
        self.0
            .count
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        self.0.changed.notify_one();
    }
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
            avg_run_ns: AtomicU64::new(0),
            live: Arc::default(),
            fixed_depth: std::env::var("STEM_PIPELINE_DEPTH")
                .ok()
                .and_then(|v| v.parse().ok()),
            started: AtomicU64::new(0),
            recycled: AtomicU64::new(0),
            replaced: AtomicU64::new(0),
            handed_over: AtomicU64::new(0),
            observer,
        }
    }

    /// Reports a child that started.
    fn spawned(&self, mut started: std::io::Result<Session>) -> std::io::Result<Session> {
        if let Ok(s) = &mut started {
            s.live = Some(LiveToken::new(&self.live));
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
        Ok(match idle {
            Some(s) => s,
            None => self.start()?,
        })
    }

    /// A child for a run that was queued on a busy child and moved off it (that child broke or
    /// was worn): an idle one, or a new one while fewer than the pool's size are alive, else
    /// the first to go idle — so the runs queued behind a crash do not each start a child.
    pub async fn acquire_moved(&self, rlimits: Rlimits) -> std::io::Result<Session> {
        loop {
            let ready = self.live.changed.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            if let Some(s) = self.idle.lock().expect("pool lock").pop() {
                return Ok(s);
            }
            if self.live.count.load(Ordering::Relaxed) < self.size {
                return self.acquire(rlimits);
            }
            ready.await;
        }
    }

    /// How many tasks may queue on a busy child: enough to cover about [`AHEAD_WORK`] of the
    /// runs lately seen (at least one, at most [`MAX_DEPTH`]), so short tasks stream into a
    /// child that takes lines ahead while long ones are never held behind another child's.
    fn depth(&self) -> usize {
        if let Some(n) = self.fixed_depth {
            return n.clamp(1, MAX_DEPTH);
        }
        let avg = self.avg_run_ns.load(Ordering::Relaxed);
        if avg == 0 {
            return 1;
        }
        (AHEAD_WORK.as_nanos() as u64 / avg).clamp(1, MAX_DEPTH as u64) as usize
    }

    /// Notes a child as running a task (a workflow resume or not): tasks may queue on it.
    pub fn track(&self, session: &Session, workflow: bool) {
        if self.pipelines {
            session.next.begin(workflow, self.depth());
            let entry = (session.pid, session.served + 1, session.next.clone());
            self.busy.lock().expect("pool lock").push(entry);
        }
    }

    /// The busy child a queued run may wait on: only in pool isolation, when no child is idle,
    /// not on a child its queued tasks would wear out; the one with the fewest waiting.
    fn open_slot(&self) -> Option<Arc<NextSlot>> {
        if !self.pipelines || !self.idle.lock().expect("pool lock").is_empty() {
            return None;
        }
        let busy = self.busy.lock().expect("pool lock");
        busy.iter()
            .filter_map(|(_, served, slot)| {
                let waiting = slot.open()?;
                let fits = self
                    .max_tasks
                    .is_none_or(|m| *served as usize + waiting < m as usize);
                fits.then_some((waiting, slot))
            })
            .min_by_key(|(waiting, _)| *waiting)
            .map(|(_, slot)| slot.clone())
    }

    /// Whether `reserve_next` could find a place now.
    pub fn can_queue(&self) -> bool {
        self.open_slot().is_some()
    }

    /// A claim on a place in a busy child's queue, for a run beyond the slots that are free.
    pub fn reserve_next(&self) -> Option<Ticket> {
        self.open_slot()?.claim()
    }

    /// Folds a task's run time into the moving average the depth follows.
    fn observe_run(&self, run: Duration) {
        let ns = (run.as_nanos() as u64).max(1);
        let avg = self.avg_run_ns.load(Ordering::Relaxed);
        let next = if avg == 0 { ns } else { (avg * 4 + ns) / 5 };
        self.avg_run_ns.store(next.max(1), Ordering::Relaxed);
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
        let worn = healthy
            && (self.max_tasks.is_some_and(|m| session.served >= m)
                || self
                    .max_memory_mb
                    .is_some_and(|m| rss_mb(session.pid).is_some_and(|rss| rss > m)));
        if let Some(run) = session.last_run.take() {
            self.observe_run(run);
        }
        let mut settled = session.next.settle(healthy && !worn);
        if let Some((tx, written)) = settled.next.take() {
            match tx.send(Handoff::Session(Box::new(session), written)) {
                Ok(()) => {
                    self.handed_over.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(Handoff::Session(s, _)) => {
                    // The front run is gone: every other queued run starts elsewhere.
                    session = *s;
                    settled.fresh.extend(session.next.settle(false).fresh);
                }
                Err(Handoff::Fresh) => unreachable!("sent a session"),
            }
        }
        for tx in settled.fresh {
            let _ = tx.send(Handoff::Fresh);
        }
        if !healthy || settled.holds_lines {
            self.replaced.fetch_add(1, Ordering::Relaxed);
            let why = if healthy {
                "holding queued tasks that moved to another child; replaced"
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
            drop(idle);
            self.live.changed.notify_one();
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
