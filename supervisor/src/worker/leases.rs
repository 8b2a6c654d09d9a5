//! The lease extender: every third of the lease, extends the leases of every delivery this
//! worker holds (running, reserved, or settling its outcome), so none is taken over while alive.

use super::state::WorkerState;
use std::sync::Arc;

pub async fn extend_loop(state: Arc<WorkerState>) {
    let period = state.config.lease / 3;
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let mut deliveries: Vec<_> = state
            .running
            .lock()
            .expect("running lock")
            .values()
            .map(|r| r.delivery.clone())
            .collect();
        deliveries.extend(
            state
                .reserved
                .lock()
                .expect("reserved lock")
                .values()
                .cloned(),
        );
        deliveries.extend(
            state
                .settling
                .lock()
                .expect("settling lock")
                .values()
                .cloned(),
        );
        if deliveries.is_empty() {
            continue;
        }
        match state
            .adapters()
            .broker
            .extend(&deliveries, state.config.lease)
            .await
        {
            Ok(lost) => {
                for receipt in lost {
                    tracing::warn!(receipt, "lease lost: another worker may run this task too");
                }
            }
            Err(e) => tracing::warn!("cannot extend leases ({e}); will retry"),
        }
    }
}
