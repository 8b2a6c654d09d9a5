//! Leases: every third of the lease the dispatcher extends the leases of every delivery it holds
//! (reserved, running or committing) in one call, and acts on those the broker says are lost.

use super::delivery::{task_ref, Stage};
use super::dispatcher::{Dispatcher, Event};
use crate::observe::Lifecycle;
use stem_adapters::Delivery;

impl Dispatcher {
    /// Every third of the lease: extends the leases of every delivery held (reserved, running
    /// or committing), one call at a time.
    pub(super) fn extend_leases(&mut self) {
        if self.extending || self.entries.is_empty() {
            return;
        }
        self.extending = true;
        self.renew_slots();
        let deliveries: Vec<Delivery> = self.entries.values().map(|e| e.delivery.clone()).collect();
        let config = self.config.clone();
        let events = self.ctx.events.clone();
        tokio::spawn(async move {
            let lost = config
                .adapters
                .broker
                .extend(&deliveries, config.lease)
                .await
                .map_err(|e| e.to_string());
            let _ = events.send(Event::Extended { lost });
        });
    }

    /// Acts on leases the broker says are lost. A committing delivery's may simply have been
    /// committed meanwhile (its verdict tells); a reserved one is dropped (its new owner runs
    /// it); a running one is marked, and its commit will be refused as stale.
    pub(super) fn leases_lost(&mut self, lost: Result<Vec<String>, String>) {
        self.extending = false;
        let lost = match lost {
            Ok(lost) => lost,
            Err(e) => {
                tracing::warn!("cannot extend leases ({e}); will retry");
                return;
            }
        };
        for receipt in lost {
            let Some(entry) = self.entries.get_mut(&receipt) else {
                continue;
            };
            match &entry.stage {
                Stage::Committing(_) => {}
                Stage::Reserved => {
                    let task = task_ref(&entry.delivery);
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
