//! Flow control in the worker, on the store's shared state (`FlowControl`):
//! - **gates**: before a task with `rate_limit` or `max_concurrency` starts, it takes a slot
//!   (fleet-wide, held until it finishes, renewed with the leases, so a dead worker's slot comes
//!   back after its lease) and then a token from its bucket. A task over its limit is not started
//!   and not failed: it stays reserved, its lease kept, and is checked again when the store says
//!   a token will be there; meanwhile its run slot serves other deliveries;
//! - **pauses** stored in the broker (`stem queue pause`), loaded at start and followed every
//!   second, so every worker, including those started later, stops fetching a paused queue;
//! - **unique locks** of tasks enqueued with `--id` or `--unique-key` without a window, released
//!   once the task's final outcome is committed.

use super::delivery::{Outcome, Stage};
use super::dispatcher::{Dispatcher, Event};
use crate::observe::Lifecycle;
use crate::ops::unique;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::{FlowControl, Payload};
use stem_protocol::fairness::{Bucket, Slot};
use stem_protocol::manifest::EffectiveTask;
use stem_protocol::TaskEnvelope;
use tokio::sync::mpsc;

/// How often the stored pauses are read.
const PAUSE_POLL: Duration = Duration::from_secs(1);
/// How soon a task waiting for a concurrency slot asks again.
const SLOT_RETRY: Duration = Duration::from_millis(200);
/// How soon a gate check that failed on a store error is tried again.
const ERROR_RETRY: Duration = Duration::from_secs(1);

/// A delivery's place at its gate.
#[derive(Debug, Default)]
pub struct GateState {
    /// The check is on its way to the store.
    pub checking: bool,
    /// Over its limit: waiting for the time the store named.
    pub held: bool,
    /// Passed: it may start.
    pub passed: bool,
    /// The concurrency slots it holds, given back when it finishes.
    pub slots: Vec<Slot>,
    /// Since when, and by which limit, it was first held (for the throttled-time metric).
    pub throttled: Option<(std::time::Instant, String)>,
}

/// What the store said at the gate.
pub enum GateVerdict {
    Pass {
        slots: Vec<Slot>,
    },
    /// Over `limit`: look again after the wait.
    Wait(Duration, String),
}

/// How many deliveries may wait at gates before one more over its limit is given back to the
/// broker (after its wait) instead of held: a key over its limit must not fill the worker with
/// its backlog while other keys' tasks wait in the queue.
fn held_cap(concurrency: usize) -> usize {
    (2 * concurrency).max(16)
}

impl Dispatcher {
    /// Sends `receipt` to its gate when its task has limits it has not passed yet; returns
    /// whether it must wait for the verdict instead of starting now.
    pub(super) fn gate(&mut self, receipt: &str, env: &TaskEnvelope, task: &EffectiveTask) -> bool {
        let flow = &task.flow;
        if !flow.gated() {
            return false;
        }
        let Some(entry) = self.entries.get_mut(receipt) else {
            return true;
        };
        if entry.gate.passed {
            return false;
        }
        entry.gate.checking = true;
        let store = self.config.adapters.flow.clone();
        let lease = self.config.lease;
        let slots = flow.slots(&task.name, env);
        let buckets = flow.buckets(&task.name, env);
        let events = self.ctx.events.clone();
        let receipt = receipt.to_string();
        tokio::spawn(async move {
            let verdict = check(store.as_ref(), &receipt, slots, buckets, lease).await;
            let _ = events.send(Event::Gated { receipt, verdict });
        });
        true
    }

    /// Acts on a gate's verdict: start it, or hold it until the store says to look again.
    pub(super) fn gated(&mut self, receipt: String, verdict: GateVerdict) {
        let crowded = self.held() >= held_cap(self.config.concurrency);
        let Some(entry) = self.entries.get_mut(&receipt) else {
            // Gone meanwhile (lease lost): give back what it took.
            if let GateVerdict::Pass { slots } = verdict {
                self.release_slots(slots, receipt);
            }
            return;
        };
        entry.gate.checking = false;
        match verdict {
            GateVerdict::Pass { slots } => {
                entry.gate.passed = true;
                entry.gate.slots = slots;
                if let Some((since, limit)) = entry.gate.throttled.take() {
                    let ms = since.elapsed().as_millis() as u64;
                    self.observer().emit(Lifecycle::Throttled { limit, ms });
                }
                self.push_waiting_front(receipt);
            }
            GateVerdict::Wait(wait, limit) if crowded => {
                // Enough wait here already: back to the broker until its wait is over.
                let d = entry.delivery.clone();
                let ms = entry
                    .gate
                    .throttled
                    .take()
                    .map_or(0, |(since, _)| since.elapsed().as_millis() as u64);
                self.send_commit(super::outcome::release(&d, wait.max(SLOT_RETRY), false));
                self.observer().emit(Lifecycle::Throttled { limit, ms });
            }
            GateVerdict::Wait(wait, limit) => {
                entry
                    .gate
                    .throttled
                    .get_or_insert_with(|| (std::time::Instant::now(), limit));
                entry.gate.held = true;
                let events = self.ctx.events.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let _ = events.send(Event::Regate(receipt));
                });
            }
        }
    }

    /// A held delivery's wait is over: it queues for a run slot (and its gate) again.
    pub(super) fn regate(&mut self, receipt: String) {
        if let Some(entry) = self.entries.get_mut(&receipt) {
            if entry.gate.held && matches!(entry.stage, Stage::Reserved) {
                entry.gate.held = false;
                self.push_waiting_back(receipt);
            }
        }
    }

    /// The queues paused in the store changed.
    pub(super) fn paused_changed(&mut self, queues: Vec<String>) {
        let now: HashSet<String> = queues.into_iter().collect();
        if now != self.stored_pauses {
            let list: Vec<&str> = now.iter().map(String::as_str).collect();
            tracing::info!(paused = %list.join(","), "paused queues changed");
        }
        self.stored_pauses = now;
        self.give_back_paused();
    }

    /// Whether this worker does not take tasks of `queue` now: paused over the control plane
    /// (this worker only) or in the store (every worker).
    pub(super) fn is_paused(&self, queue: &str) -> bool {
        self.paused.contains(queue) || self.stored_pauses.contains(queue)
    }

    /// Gives back the reserved (not yet started) deliveries of paused queues, at once and without
    /// a delay, so another worker or a resume takes them; a running task goes on.
    pub(super) fn give_back_paused(&mut self) {
        let paused: Vec<_> = self
            .entries
            .values()
            .filter(|e| matches!(e.stage, Stage::Reserved) && self.is_paused(&e.delivery.queue))
            .map(|e| e.delivery.clone())
            .collect();
        if paused.is_empty() {
            return;
        }
        let gone: HashSet<&str> = paused.iter().map(|d| d.receipt.as_str()).collect();
        self.waiting.retain(|r| !gone.contains(r.as_str()));
        for d in &paused {
            self.finish_gate(&d.receipt);
            self.send_commit(super::outcome::give_back(d, false));
        }
    }

    /// Deliveries waiting at a gate, which do not count against the prefetch window.
    pub(super) fn held(&self) -> usize {
        if !self.gated_tasks {
            return 0;
        }
        self.entries
            .values()
            .filter(|e| e.gate.held || e.gate.checking)
            .count()
    }

    /// Gives back the concurrency slots `receipt` holds, if any (its run is over).
    pub(super) fn finish_gate(&mut self, receipt: &str) {
        let slots = self
            .entries
            .get_mut(receipt)
            .map(|e| std::mem::take(&mut e.gate.slots))
            .unwrap_or_default();
        self.release_slots(slots, receipt.to_string());
    }

    pub(super) fn release_slots(&self, slots: Vec<Slot>, holder: String) {
        if slots.is_empty() {
            return;
        }
        let store = self.config.adapters.flow.clone();
        tokio::spawn(async move {
            for slot in slots {
                if let Err(e) = store.release_slot(&slot.key, &holder).await {
                    tracing::warn!(
                        "cannot give back concurrency slot {}: {e}; it frees at its lease end",
                        slot.key
                    );
                }
            }
        });
    }

    /// With the lease tick: renews the slots of deliveries that hold one.
    pub(super) fn renew_slots(&self) {
        let held: Vec<(Slot, String)> = self
            .entries
            .iter()
            .flat_map(|(receipt, e)| e.gate.slots.iter().map(|s| (s.clone(), receipt.clone())))
            .collect();
        if held.is_empty() {
            return;
        }
        let store = self.config.adapters.flow.clone();
        let lease = self.config.lease;
        tokio::spawn(async move {
            for (slot, holder) in held {
                if let Err(e) = store.take_slot(&slot.key, slot.max, &holder, lease).await {
                    tracing::warn!("cannot renew concurrency slot {}: {e}", slot.key);
                }
            }
        });
    }

    /// After an applied commit: a final outcome releases the task's unique lock.
    pub(super) fn release_unique(&self, payload: &Payload, outcome: &Outcome) {
        let final_outcome = !matches!(outcome, Outcome::Retried { .. } | Outcome::Released { .. });
        let Payload::Task(env) = payload else { return };
        if !final_outcome || !unique::lock(env).is_some_and(|(_, _, _, release)| release) {
            return;
        }
        let adapters = self.config.adapters.clone();
        let env = env.clone();
        tokio::spawn(async move {
            if let Err(e) = unique::release(&adapters, &env).await {
                tracing::warn!(task = %env.id, "cannot release its unique lock: {e}; it is taken over once seen finished");
            }
        });
    }
}

/// Takes every slot, then a token from every bucket; on the first refusal gives back the slots
/// taken and says how long to wait. (A token taken from an earlier bucket is spent: a bucket
/// refills, and giving tokens back would let a crash overspend.)
async fn check(
    store: &dyn FlowControl,
    receipt: &str,
    slots: Vec<Slot>,
    buckets: Vec<Bucket>,
    lease: Duration,
) -> GateVerdict {
    let result: stem_adapters::Result<GateVerdict> = async {
        let mut taken: Vec<&Slot> = Vec::new();
        let mut verdict = None;
        for slot in &slots {
            if !store.take_slot(&slot.key, slot.max, receipt, lease).await? {
                verdict = Some(GateVerdict::Wait(SLOT_RETRY, slot.limit.clone()));
                break;
            }
            taken.push(slot);
        }
        if verdict.is_none() {
            for b in &buckets {
                if let Some(wait) = store.take_token(&b.key, b.per_second, b.burst).await? {
                    verdict = Some(GateVerdict::Wait(wait, b.limit.clone()));
                    break;
                }
            }
        }
        if let Some(wait) = verdict {
            for slot in taken {
                store.release_slot(&slot.key, receipt).await?;
            }
            return Ok(wait);
        }
        Ok(GateVerdict::Pass { slots })
    }
    .await;
    result.unwrap_or_else(|e| {
        tracing::warn!("flow control: {e}; trying again in {ERROR_RETRY:?}");
        GateVerdict::Wait(ERROR_RETRY, "store error".into())
    })
}

/// Whether any task of the worker's manifest has a rate or concurrency limit.
pub fn any_gated(config: &super::WorkerConfig) -> bool {
    let manifest = &config.manifest.manifest;
    manifest
        .task_names()
        .iter()
        .any(|name| manifest.effective(name).is_some_and(|t| t.flow.gated()))
}

/// The stored pauses now (none, after a warning, when the store cannot say).
pub async fn load_pauses(store: &dyn FlowControl) -> HashSet<String> {
    match store.paused_queues().await {
        Ok(list) => {
            if !list.is_empty() {
                tracing::info!(queues = %list.join(","), "paused queues (not fetched until resumed)");
            }
            list.into_iter().collect()
        }
        Err(e) => {
            tracing::warn!("cannot read paused queues ({e}); will retry");
            HashSet::new()
        }
    }
}

/// Follows the stored pauses, sending each change to the dispatcher.
pub async fn watch_pauses(store: Arc<dyn FlowControl>, events: mpsc::UnboundedSender<Event>) {
    let mut last: Option<Vec<String>> = None;
    loop {
        tokio::time::sleep(PAUSE_POLL).await;
        if let Ok(now) = store.paused_queues().await {
            if last.as_ref() != Some(&now) {
                if events.send(Event::Paused(now.clone())).is_err() {
                    return;
                }
                last = Some(now);
            }
        }
    }
}
