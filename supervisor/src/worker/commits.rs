//! The commit loop: outcomes from the dispatcher, committed in batches — one adapter call for
//! many outcomes, with no added delay when the worker is quiet (whatever piled up while the last
//! batch was being stored goes in the next). Transient store errors are retried with backoff;
//! a batch that still fails is left unacknowledged (its tasks run again after their leases).

use super::config::WorkerConfig;
use super::dispatcher::Event;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::{Commit, Verdict};
use tokio::sync::mpsc;

/// Most outcomes committed in one round trip.
const MAX_BATCH: usize = 256;
const ATTEMPTS: u32 = 8;

/// What became of one commit: its verdict, or why it could not be stored.
pub type Committed = Vec<(String, Result<Verdict, String>)>;

pub async fn run(
    config: Arc<WorkerConfig>,
    mut rx: mpsc::UnboundedReceiver<Commit>,
    events: mpsc::UnboundedSender<Event>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let results = commit(&config, &batch).await;
        let _ = events.send(Event::Committed(results));
    }
}

async fn commit(config: &WorkerConfig, batch: &[Commit]) -> Committed {
    let receipts = batch.iter().map(|c| c.delivery.receipt.clone());
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=ATTEMPTS {
        match stem_adapters::commit::commit(
            &config.adapters,
            batch,
            config.result_ttl,
            config.lease,
        )
        .await
        {
            Ok(verdicts) => return receipts.zip(verdicts.into_iter().map(Ok)).collect(),
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                tracing::warn!(
                    "cannot commit {} outcome(s) ({e}); retrying in {delay:?}",
                    batch.len()
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                let why = e.to_string();
                return receipts.map(|r| (r, Err(why.clone()))).collect();
            }
        }
    }
    unreachable!("the last attempt returns")
}
