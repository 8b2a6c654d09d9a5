//! Leases: every third of the lease the dispatcher extends the leases of every delivery it holds
//! (reserved, running or committing) in one call, and acts on those the broker says are lost.
//!
//! A reserved delivery starts only while its lease is known current: confirmed (fetched, or
//! extended by a call sent) less than half a lease ago, and the last extend call worked. One
//! that waited longer (a broker outage, a frozen process, a long queue behind busy slots) is
//! parked and confirmed with an extend call first: still ours, it starts; lost, it is dropped
//! (its new owner runs it); no answer, it stays parked until an extend call gets through.

use super::delivery::{task_ref, Stage};
use super::dispatcher::{Dispatcher, Event};
use crate::observe::Lifecycle;
use std::time::Instant;
use stem_adapters::Delivery;

/// An extend call's answer.
pub struct Extended {
    /// The periodic extension of everything held (else a re-check of parked deliveries).
    pub periodic: bool,
    /// The receipts the call carried.
    pub sent: Vec<String>,
    /// When it was sent: a lease it kept is current from then on.
    pub at: Instant,
    pub lost: Result<Vec<String>, String>,
}

impl Dispatcher {
    /// Every third of the lease: extends the leases of every delivery held (reserved, running
    /// or committing), one call at a time.
    pub(super) fn extend_leases(&mut self) {
        if self.entries.is_empty() {
            // Nothing held, nothing to confirm before fetching.
            self.broker_unconfirmed = None;
        }
        if self.extending || self.entries.is_empty() {
            return;
        }
        self.extending = true;
        self.renew_slots();
        let deliveries: Vec<Delivery> = self.entries.values().map(|e| e.delivery.clone()).collect();
        self.send_extend(deliveries, true);
    }

    fn send_extend(&self, deliveries: Vec<Delivery>, periodic: bool) {
        let config = self.config.clone();
        let events = self.ctx.events.clone();
        let at = Instant::now();
        tokio::spawn(async move {
            let lost = config
                .adapters
                .broker
                .extend(&deliveries, config.lease)
                .await
                .map_err(|e| e.to_string());
            let sent = deliveries.into_iter().map(|d| d.receipt).collect();
            let _ = events.send(Event::Extended(Extended {
                periodic,
                sent,
                at,
                lost,
            }));
        });
    }

    /// Whether a reserved delivery's lease may have lapsed: not confirmed for half a lease, or
    /// not since a broker call failed.
    pub(super) fn lease_unconfirmed(&self, receipt: &str) -> bool {
        let Some(entry) = self.entries.get(receipt) else {
            return false;
        };
        self.broker_unconfirmed
            .is_some_and(|failed| entry.confirmed < failed)
            || entry.confirmed.elapsed() > self.config.lease / 2
    }

    /// Parks `receipts` (reserved, lease unconfirmed) and confirms them with one extend call.
    pub(super) fn recheck(&mut self, receipts: Vec<String>) {
        let mut deliveries = Vec::new();
        for receipt in receipts {
            if let Some(entry) = self.entries.get_mut(&receipt) {
                entry.parked = true;
                deliveries.push(entry.delivery.clone());
            }
        }
        if !deliveries.is_empty() {
            tracing::debug!(
                count = deliveries.len(),
                "confirming reserved leases before starting"
            );
            self.send_extend(deliveries, false);
        }
    }

    /// An extend call answered: confirms the leases it kept (parked deliveries go back to the
    /// front of the line, in their order) and acts on those lost.
    pub(super) fn extended(&mut self, answer: Extended) {
        if answer.periodic {
            self.extending = false;
        }
        let lost = match answer.lost {
            Ok(lost) => lost,
            Err(e) => {
                self.broker_unconfirmed = Some(Instant::now());
                tracing::warn!("cannot extend leases ({e}); will retry");
                return;
            }
        };
        if answer.periodic
            && self
                .broker_unconfirmed
                .is_some_and(|failed| answer.at >= failed)
        {
            self.broker_unconfirmed = None;
        }
        let lost_set: std::collections::HashSet<&String> = lost.iter().collect();
        for receipt in &answer.sent {
            if lost_set.contains(receipt) {
                continue;
            }
            if let Some(entry) = self.entries.get_mut(receipt) {
                entry.confirmed = entry.confirmed.max(answer.at);
            }
        }
        self.leases_lost(lost);
        // Unpark in fetch order (a parked delivery is not in the line).
        let mut unparked: Vec<String> = Vec::new();
        for receipt in answer.sent.iter().rev() {
            if let Some(entry) = self.entries.get_mut(receipt) {
                if entry.parked && matches!(entry.stage, Stage::Reserved) {
                    entry.parked = false;
                    unparked.push(receipt.clone());
                }
            }
        }
        for receipt in unparked {
            self.push_waiting_front(receipt);
        }
    }

    /// Acts on leases the broker says are lost. A committing delivery's may simply have been
    /// committed meanwhile (its verdict tells); a reserved one is dropped (its new owner runs
    /// it); a running one is marked, and its commit will be refused as stale.
    fn leases_lost(&mut self, lost: Vec<String>) {
        for receipt in lost {
            let Some(entry) = self.entries.get_mut(&receipt) else {
                continue;
            };
            match &entry.stage {
                Stage::Committing(_) => {}
                Stage::Reserved => {
                    let task = task_ref(&entry.delivery);
                    self.waiting.retain(|r| *r != receipt);
                    self.finish_gate(&receipt);
                    self.entries.remove(&receipt);
                    self.observer().emit(Lifecycle::LeaseLost {
                        task,
                        running: false,
                    });
                }
                Stage::Running(r) if !entry.lease_lost => {
                    entry.lease_lost = true;
                    let task = r.task.clone();
                    self.observer().emit(Lifecycle::LeaseLost {
                        task,
                        running: true,
                    });
                }
                Stage::Running(_) => {}
            }
        }
    }
}
