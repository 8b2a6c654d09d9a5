//! The worker's shared state: running tasks, revocations, paused queues, counters, the
//! shutdown phase and the capacity semaphore.

use super::completer::CompletionSender;
use super::config::WorkerConfig;
use super::dispatch::ReservedSender;
use crate::exec::limits::StopRequest;
use crate::exec::Executor;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use stem_adapters::{Adapters, Delivery, Revocation, TaskEvent};
use tokio::sync::{watch, Notify, Semaphore};

/// Shutdown phases, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Running,
    /// Stop fetching; finish running tasks.
    Warm,
    /// Kill running children and release their tasks.
    Cold,
}

/// One task this worker is running.
pub struct Running {
    pub delivery: Delivery,
    pub name: String,
    pub queue: String,
    pub started_at: i64,
    pub pid: Option<u32>,
    pub runtime: String,
    pub stop: watch::Sender<StopRequest>,
}

#[derive(Default, Serialize)]
pub struct Counters {
    pub processed: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub revoked: AtomicU64,
    pub dead_lettered: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct WorkerState {
    pub config: WorkerConfig,
    pub executor: Arc<Executor>,
    pub running: Mutex<HashMap<String, Running>>,
    pub revoked: Mutex<HashMap<String, Revocation>>,
    pub paused: Mutex<HashSet<String>>,
    pub counters: Counters,
    pub events: Mutex<Vec<TaskEvent>>,
    /// The prefetch window: deliveries leased and not yet finished (running or reserved).
    pub capacity: Arc<Semaphore>,
    /// Run slots: tasks running at once.
    pub run_slots: Arc<Semaphore>,
    /// Deliveries leased and waiting for a run slot, by receipt.
    pub reserved: Mutex<HashMap<String, Delivery>>,
    /// Deliveries whose child is done and whose outcome is being stored, by receipt.
    pub settling: Mutex<HashMap<String, Delivery>>,
    /// Runner tasks alive (reserved, running or recording).
    pub active: AtomicUsize,
    pub completions: CompletionSender,
    /// Fetched deliveries waiting, in order, for a run slot.
    pub dispatch: ReservedSender,
    pub started_at: i64,
    phase: watch::Sender<Phase>,
    idle: Notify,
}

impl WorkerState {
    pub fn new(
        config: WorkerConfig,
        executor: Arc<Executor>,
        completions: CompletionSender,
        dispatch: ReservedSender,
    ) -> Self {
        let capacity = Arc::new(Semaphore::new(config.concurrency + config.prefetch));
        let run_slots = Arc::new(Semaphore::new(config.concurrency));
        WorkerState {
            run_slots,
            reserved: Mutex::new(HashMap::new()),
            settling: Mutex::new(HashMap::new()),
            active: AtomicUsize::new(0),
            completions,
            dispatch,
            config,
            executor,
            running: Mutex::new(HashMap::new()),
            revoked: Mutex::new(HashMap::new()),
            paused: Mutex::new(HashSet::new()),
            counters: Counters::default(),
            events: Mutex::new(Vec::new()),
            capacity,
            started_at: stem_protocol::now_ms(),
            phase: watch::channel(Phase::Running).0,
            idle: Notify::new(),
        }
    }

    pub fn adapters(&self) -> &Adapters {
        &self.config.adapters
    }

    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    pub fn phase_watch(&self) -> watch::Receiver<Phase> {
        self.phase.subscribe()
    }

    /// Moves to a later phase (never back). Cold kills every running child.
    pub fn advance(&self, to: Phase) {
        let changed = self.phase.send_if_modified(|p| {
            if to > *p {
                *p = to;
                true
            } else {
                false
            }
        });
        if changed && to == Phase::Cold {
            for r in self.running.lock().expect("running lock").values() {
                let _ = r.stop.send(StopRequest::Kill);
            }
        }
        self.idle.notify_waiters();
    }

    pub fn in_flight(&self) -> usize {
        self.running.lock().expect("running lock").len()
    }

    /// A runner finished (or a consumer stopped): wake whoever waits for idleness.
    pub fn notify_progress(&self) {
        self.idle.notify_waiters();
    }

    /// Waits until shutdown was asked and no runner is left (every outcome recorded, every
    /// reserved delivery given back).
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.phase() != Phase::Running && self.active.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Queues to fetch from now (paused ones left out).
    pub fn active_queues(&self) -> Vec<String> {
        let paused = self.paused.lock().expect("paused lock");
        self.config
            .queues
            .iter()
            .filter(|q| !paused.contains(*q))
            .cloned()
            .collect()
    }

    pub fn is_revoked(&self, id: &str) -> Option<Revocation> {
        let now = stem_protocol::now_ms();
        self.revoked
            .lock()
            .expect("revoked lock")
            .get(id)
            .filter(|r| r.expires_at > now)
            .cloned()
    }
}
