//! The dispatcher: one task, one `select!`, the one owner of every delivery's state. Fetched
//! batches, executor updates, commit verdicts, the lease tick, revocations, control commands and
//! signals all arrive here as events; the dispatcher decides and sends work out (fetch requests
//! to the fetcher, runs to executions, outcomes to the commit loop). Nothing else changes
//! delivery state.
//!
//! Order: deliveries wait `Reserved` in fetch order (so priority order holds with prefetch) and
//! start as run slots free up; a slot frees as soon as the child is done, while its outcome
//! commits. At shutdown, reserved deliveries are given back; the loop ends when the map is empty.

use super::delivery::{task_ref, Entry, Outcome, Stage};
use super::execution::{self, Finished, RunContext};
use super::fetcher::FetchRequest;
use super::screen::{screen, Screened};
use super::{outcome, WorkerConfig};
use crate::exec::limits::StopRequest;
use crate::observe::counters::Counters;
use crate::observe::{Lifecycle, Observer};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::{Commit, Delivery, Revocation};
use stem_protocol::manifest::TaskKind;
use tokio::sync::{mpsc, watch};

/// Most deliveries asked for in one fetch.
pub(super) const MAX_FETCH: usize = 64;

pub use super::events::{Event, ExecUpdate, Phase};

pub struct Dispatcher {
    pub(super) config: Arc<WorkerConfig>,
    pub(super) ctx: Arc<RunContext>,
    pub(super) counters: Arc<Counters>,
    pub(super) entries: HashMap<String, Entry>,
    pub(super) waiting: VecDeque<String>,
    pub(super) local_fair: super::local_fair::LocalFair,
    pub(super) running: usize,
    pub(super) revoked: HashMap<String, Revocation>,
    pub(super) paused: HashSet<String>,
    /// Queues paused in the store (`stem queue pause`), for every worker.
    pub(super) stored_pauses: HashSet<String>,
    /// Some task of the manifest has a rate or concurrency limit (else no delivery is ever
    /// held at a gate, and the window needs no count of held ones).
    pub(super) gated_tasks: bool,
    pub(super) phase: Phase,
    pub(super) started_at: i64,
    /// The prefetch window, adapting to run times unless `--prefetch` fixed it.
    pub(super) prefetch: super::window::Prefetch,
    pub(super) fetching: bool,
    /// The last fetch failed (the next that works is a recovery).
    broker_failing: bool,
    pub(super) extending: bool,
    /// When a broker call (an extend or a fetch) last failed, until an extend of everything
    /// held sent after it works: no reserved delivery confirmed before it starts, and nothing
    /// more is fetched, before the leases held are confirmed.
    pub(super) broker_unconfirmed: Option<std::time::Instant>,
    pub(super) fetch_tx: mpsc::UnboundedSender<FetchRequest>,
    commit_tx: mpsc::UnboundedSender<Commit>,
}

impl Dispatcher {
    pub fn new(
        ctx: Arc<RunContext>,
        counters: Arc<Counters>,
        fetch_tx: mpsc::UnboundedSender<FetchRequest>,
        commit_tx: mpsc::UnboundedSender<Commit>,
        revoked: HashMap<String, Revocation>,
    ) -> Self {
        let gated_tasks = super::flow::any_gated(&ctx.config);
        let config_prefetch = ctx.config.prefetch.clone();
        Dispatcher {
            config: ctx.config.clone(),
            ctx,
            counters,
            entries: HashMap::new(),
            waiting: VecDeque::new(),
            local_fair: Default::default(),
            running: 0,
            revoked,
            paused: HashSet::new(),
            stored_pauses: HashSet::new(),
            gated_tasks,
            phase: Phase::Running,
            started_at: stem_protocol::now_ms(),
            prefetch: config_prefetch,
            fetching: false,
            broker_failing: false,
            extending: false,
            broker_unconfirmed: None,
            fetch_tx,
            commit_tx,
        }
    }

    pub(super) fn observer(&self) -> &Observer {
        &self.ctx.observer
    }

    /// Runs until shutdown was asked and every delivery is done.
    pub async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) {
        let mut tick = tokio::time::interval(self.config.lease / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut paused_retry = tokio::time::interval(Duration::from_secs(1));
        self.stored_pauses = super::flow::load_pauses(self.config.adapters.flow.as_ref()).await;
        self.fetch_more();
        loop {
            if self.phase != Phase::Running && self.entries.is_empty() && !self.fetching {
                return;
            }
            tokio::select! {
                biased;
                Some(event) = events.recv() => self.handle(event),
                _ = tick.tick() => self.extend_leases(),
                _ = paused_retry.tick() => self.fetch_more(),
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Fetched(got, sent) => {
                self.fetching = false;
                match (&got, self.broker_failing) {
                    (Err(_), _) => {
                        self.broker_failing = true;
                        self.broker_unconfirmed = Some(std::time::Instant::now());
                        self.observer().emit(Lifecycle::BrokerError { op: "fetch" });
                    }
                    (Ok(_), true) => {
                        self.broker_failing = false;
                        self.observer().emit(Lifecycle::BrokerRecovered);
                    }
                    (Ok(_), false) => {}
                }
                let got = got.unwrap_or_default();
                if got.is_empty() && self.config.burst && self.entries.is_empty() {
                    tracing::info!("burst mode: the queues are drained; stopping");
                    self.advance(Phase::Warm);
                }
                for d in got {
                    self.reserve(d, sent);
                }
            }
            Event::Exec { receipt, update } => self.exec_update(receipt, update),
            Event::Committed(results) => self.committed(results),
            Event::Extended(answer) => self.extended(answer),
            Event::Revoked(r) => self.apply_revocation(r),
            Event::Control(request, reply) => {
                let _ = reply.send(self.answer(&request));
            }
            Event::Snapshot(reply) => {
                let _ = reply.send(self.stats());
            }
            Event::Gated { receipt, verdict } => self.gated(receipt, verdict),
            Event::Regate(receipt) => self.regate(receipt),
            Event::Paused(queues) => self.paused_changed(queues),
            Event::Debounced { receipt, answer } => self.debounced(receipt, answer),
            Event::Signal => {
                if self.phase == Phase::Running {
                    tracing::info!(
                        running = self.running,
                        "warm shutdown: no new tasks; waiting for running ones (signal again for a cold shutdown)"
                    );
                    self.advance(Phase::Warm);
                } else {
                    tracing::warn!(
                        running = self.running,
                        "cold shutdown: killing children and releasing their tasks"
                    );
                    self.advance(Phase::Cold);
                }
            }
        }
        self.start_waiting();
        self.fetch_more();
    }

    /// Moves to a later phase (never back). Warm gives reserved deliveries back; cold also kills
    /// every running child.
    pub(super) fn advance(&mut self, to: Phase) {
        if to <= self.phase {
            return;
        }
        // A fetch waiting for work would hold the shutdown up to the end of its wait.
        self.ctx.config.adapters.broker.interrupt_fetches();
        self.phase = to;
        self.waiting.clear();
        // Every reserved delivery goes back: those queued for a run slot and those at a gate.
        let reserved: Vec<Delivery> = self
            .entries
            .values()
            .filter(|e| matches!(e.stage, Stage::Reserved))
            .map(|e| e.delivery.clone())
            .collect();
        for d in reserved {
            self.finish_gate(&d.receipt);
            self.send_commit(outcome::give_back(&d, true));
        }
        if to == Phase::Cold {
            for e in self.entries.values() {
                if let Stage::Running(r) = &e.stage {
                    let _ = r.stop.send(StopRequest::Kill);
                }
            }
        }
    }

    fn reserve(&mut self, d: Delivery, sent: std::time::Instant) {
        // A fetch already waiting when its queue was paused may still bring a task of it back.
        if self.phase != Phase::Running || self.is_paused(&d.queue) {
            let receipt = d.receipt.clone();
            self.entries.insert(receipt, reserved(d.clone(), sent));
            self.send_commit(outcome::give_back(&d, self.phase != Phase::Running));
            return;
        }
        self.observer().emit(Lifecycle::Received(task_ref(&d)));
        let receipt = d.receipt.clone();
        self.entries.insert(receipt.clone(), reserved(d, sent));
        self.join_waiting(receipt);
    }

    /// Starts reserved deliveries, in fetch order, while run slots are free; beyond them, one
    /// more per busy warm child, queued on it (`exec/next.rs`).
    fn start_waiting(&mut self) {
        let mut stale = Vec::new();
        self.start_waiting_checked(&mut stale);
        self.recheck(stale);
    }

    fn start_waiting_checked(&mut self, stale: &mut Vec<String>) {
        while self.phase == Phase::Running {
            let over = self.running >= self.config.concurrency;
            if over && !self.ctx.executor.can_queue() {
                return;
            }
            let Some(receipt) = self.waiting.pop_front() else {
                return;
            };
            self.left_waiting(&receipt);
            let Some(d) = self.entries.get(&receipt).map(|e| e.delivery.clone()) else {
                continue;
            };
            if self.lease_unconfirmed(&receipt) {
                stale.push(receipt);
                continue;
            }
            match screen(&self.config, &self.revoked, &d) {
                Screened::Commit(c, o) => self.send_commit((*c, o)),
                Screened::Run(env, task) => {
                    if self.debounce(&receipt, &env) {
                        continue;
                    }
                    let ticket = if over {
                        let flow = &task.flow;
                        let free = !flow.gated();
                        match self.ctx.executor.reserve_next(&task).filter(|_| free) {
                            Some(t) => Some(t),
                            None => {
                                self.waiting.push_front(receipt);
                                return;
                            }
                        }
                    } else {
                        None
                    };
                    if self.gate(&receipt, &env, &task) {
                        continue;
                    }
                    let runtime = match &task.kind {
                        TaskKind::Runtime(r) => r.clone(),
                        TaskKind::Exec(_) => "exec".to_string(),
                    };
                    let (stop, stop_rx) = watch::channel(StopRequest::None);
                    let canvas = env.canvas.as_ref().map(|c| c.canvas_id.clone());
                    let terminate = self
                        .revoked
                        .get(&env.id)
                        .or_else(|| canvas.as_ref().and_then(|c| self.revoked.get(c)))
                        .is_some_and(|r| r.terminate);
                    if terminate {
                        let grace = self.config.terminate_grace;
                        let _ = stop.send(StopRequest::Terminate { grace });
                    }
                    if let Some(e) = self.entries.get_mut(&receipt) {
                        e.stage = Stage::Running(super::delivery::Running {
                            task: task_ref(&d),
                            canvas,
                            runtime,
                            started_at: stem_protocol::now_ms(),
                            pid: None,
                            stop,
                        });
                    }
                    self.running += 1;
                    let run = execution::run(self.ctx.clone(), d, *env, task, stop_rx, ticket);
                    tokio::spawn(run);
                }
            }
        }
    }

    fn exec_update(&mut self, receipt: String, update: ExecUpdate) {
        let Some(entry) = self.entries.get_mut(&receipt) else {
            return;
        };
        match update {
            ExecUpdate::Pid(pid) => {
                if let Stage::Running(r) = &mut entry.stage {
                    r.pid = Some(pid);
                }
            }
            ExecUpdate::Finished(f) => {
                self.running = self.running.saturating_sub(1);
                if let Stage::Running(r) = &entry.stage {
                    let began = f.record.started_at.unwrap_or(r.started_at);
                    self.prefetch.observe(stem_protocol::now_ms() - began);
                }
                let slots = std::mem::take(&mut entry.gate.slots);
                let d = entry.delivery.clone();
                let Finished {
                    envelope,
                    task,
                    record,
                    outcome,
                    settled,
                } = *f;
                self.observer().emit(Lifecycle::Ran(task_ref(&d)));
                self.release_slots(slots, receipt);
                let done = match settled {
                    Some(done) => *done,
                    None => outcome::settle(&d, &envelope, &task, record, outcome),
                };
                self.send_commit(done);
            }
        }
    }

    /// Hands an outcome to the commit loop; the delivery is `Committing` until its verdict.
    pub(super) fn send_commit(&mut self, (mut commit, outcome): (Commit, Outcome)) {
        crate::workflow::publish::add_parent_nudge(&mut commit);
        let receipt = commit.delivery.receipt.clone();
        match self.entries.get_mut(&receipt) {
            Some(e) => e.stage = Stage::Committing(outcome),
            None => return,
        }
        if self.commit_tx.send(commit).is_err() {
            self.entries.remove(&receipt);
        }
    }

    pub(super) fn push_waiting_front(&mut self, receipt: String) {
        self.waiting.push_front(receipt);
    }

    pub(super) fn push_waiting_back(&mut self, receipt: String) {
        self.waiting.push_back(receipt);
    }

    pub(super) fn in_flight(&self) -> usize {
        self.running
    }
}

fn reserved(delivery: Delivery, confirmed: std::time::Instant) -> Entry {
    Entry {
        delivery,
        stage: Stage::Reserved,
        lease_lost: false,
        gate: Default::default(),
        confirmed,
        parked: false,
        debounced: false,
        fair_vt: 0,
    }
}
