//! The completer: records outcomes and acknowledges their deliveries in batches. Runners hand
//! it a finished record and wait until it is stored and acked (so at-least-once holds and the
//! concurrency slot stays taken until then); meanwhile other runners' outcomes pile up and go in
//! the next batch — one round trip for many tasks, with no added delay when the worker is quiet.

use super::state::WorkerState;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::Delivery;
use stem_protocol::TaskRecord;
use tokio::sync::{mpsc, oneshot};

/// Most outcomes committed in one round trip.
const MAX_BATCH: usize = 256;

pub struct Completion {
    pub record: TaskRecord,
    pub delivery: Delivery,
    pub done: oneshot::Sender<()>,
}

pub type CompletionSender = mpsc::UnboundedSender<Completion>;
pub type CompletionReceiver = mpsc::UnboundedReceiver<Completion>;

pub fn channel() -> (CompletionSender, CompletionReceiver) {
    mpsc::unbounded_channel()
}

pub async fn run(state: Arc<WorkerState>, mut rx: CompletionReceiver) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        commit(&state, &batch).await;
        for c in batch {
            let _ = c.done.send(());
        }
    }
}

async fn commit(state: &WorkerState, batch: &[Completion]) {
    let records: Vec<TaskRecord> = batch.iter().map(|c| c.record.clone()).collect();
    let deliveries: Vec<Delivery> = batch.iter().map(|c| c.delivery.clone()).collect();
    let ttl = state.config.result_ttl;
    let broker = &state.adapters().broker;
    if state.config.shared_store {
        match broker.record_and_ack(&records, ttl, &deliveries).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => tracing::warn!(
                "cannot record and ack {} outcome(s) in one step ({e}); trying in two",
                records.len()
            ),
        }
    }
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=8 {
        match state.adapters().backend.set(&records, ttl).await {
            Ok(()) => break,
            Err(e) if e.is_transient() && attempt < 8 => {
                tracing::warn!(
                    "cannot record {} outcome(s) ({e}); retrying in {delay:?}",
                    records.len()
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                // Not acked: the tasks will be delivered again after their leases.
                tracing::error!(
                    "cannot record {} outcome(s): {e}; leaving them unacknowledged",
                    records.len()
                );
                return;
            }
        }
    }
    if let Err(e) = broker.ack(&deliveries).await {
        tracing::warn!(
            "ack of {} delivery(ies) failed ({e}); they may run again",
            deliveries.len()
        );
    }
}
