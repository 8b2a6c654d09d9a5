//! The dispatcher: fetched deliveries wait here, reserved (their leases kept alive), and start
//! in fetch order — so priority order holds — as run slots free up. At shutdown, the ones still
//! waiting go back to the broker.

use super::runner;
use super::state::{Phase, WorkerState};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use stem_adapters::Delivery;
use tokio::sync::{mpsc, OwnedSemaphorePermit};

pub struct Reserved {
    pub delivery: Delivery,
    pub reservation: OwnedSemaphorePermit,
}

pub type ReservedSender = mpsc::UnboundedSender<Reserved>;
pub type ReservedReceiver = mpsc::UnboundedReceiver<Reserved>;

pub fn channel() -> (ReservedSender, ReservedReceiver) {
    mpsc::unbounded_channel()
}

/// Queues a fetched delivery (called by the consumer, in fetch order).
pub fn reserve(state: &WorkerState, delivery: Delivery, reservation: OwnedSemaphorePermit) {
    state.active.fetch_add(1, Ordering::SeqCst);
    state
        .reserved
        .lock()
        .expect("reserved lock")
        .insert(delivery.receipt.clone(), delivery.clone());
    let _ = state.dispatch.send(Reserved {
        delivery,
        reservation,
    });
}

pub async fn run(state: Arc<WorkerState>, mut rx: ReservedReceiver) {
    let mut phase = state.phase_watch();
    while let Some(Reserved {
        delivery,
        reservation,
    }) = rx.recv().await
    {
        let slot = if state.phase() == Phase::Running {
            tokio::select! {
                slot = state.run_slots.clone().acquire_owned() => slot.ok(),
                _ = phase.wait_for(|p| *p != Phase::Running) => None,
            }
        } else {
            None
        };
        state
            .reserved
            .lock()
            .expect("reserved lock")
            .remove(&delivery.receipt);
        match slot {
            Some(slot) if state.phase() == Phase::Running => {
                runner::start(state.clone(), delivery, reservation, slot)
            }
            _ => runner::give_back(state.clone(), delivery, reservation),
        }
    }
}
