//! The commit loop: outcomes from the dispatcher, committed in batches — one adapter call for
//! many outcomes, with no added delay when the worker is quiet (whatever piled up while the last
//! batch was being stored, or is ready in the same scheduler turn, goes in the next). Transient store errors are retried with backoff;
//! a batch that still fails is left unacknowledged (its tasks run again after their leases).
//! A canvas task's follow-ups are worked out here and published by its commit; what its outcome
//! settles (the canvas's own record, nodes never to run) is written once that commit applied.

use super::config::WorkerConfig;
use super::dispatcher::Event;
use crate::canvas::settle::{self, Settlement};
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
        // Let the runs that are ready finish first (one turn of the single-threaded
        // scheduler, no timer): their outcomes join this batch instead of the next round trip.
        tokio::task::yield_now().await;
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let results = commit(&config, &mut batch).await;
        let _ = events.send(Event::Committed(results));
    }
}

async fn commit(config: &WorkerConfig, batch: &mut [Commit]) -> Committed {
    let receipts: Vec<String> = batch.iter().map(|c| c.delivery.receipt.clone()).collect();
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=ATTEMPTS {
        let mut settled = Vec::new();
        let done = match with_follow_ups(config, batch, &mut settled).await {
            Ok(()) => {
                stem_adapters::commit::commit(
                    &config.adapters,
                    batch,
                    config.result_ttl,
                    config.lease,
                )
                .await
            }
            Err(e) => Err(e),
        };
        match done {
            Ok(verdicts) => {
                settle_applied(config, &settled, &verdicts).await;
                return receipts
                    .into_iter()
                    .zip(verdicts.into_iter().map(Ok))
                    .collect();
            }
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
                return receipts
                    .into_iter()
                    .map(|r| (r, Err(why.clone())))
                    .collect();
            }
        }
    }
    unreachable!("the last attempt returns")
}

/// Writes the canvas state the applied commits settle (a refused one settles nothing: its new
/// owner's commit will). A write that keeps failing is logged; `stem canvas show` writes a settled
/// canvas's state when it finds it missing.
async fn settle_applied(
    config: &WorkerConfig,
    settled: &[(usize, Settlement)],
    verdicts: &[Verdict],
) {
    for (i, s) in settled {
        if !verdicts.get(*i).is_some_and(Verdict::is_applied) {
            continue;
        }
        let mut delay = Duration::from_millis(100);
        for attempt in 1..=3 {
            match settle::write_outcome(&config.adapters, config.result_ttl, s).await {
                Ok(()) => break,
                Err(e) if attempt < 3 && e.is_transient() => {
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                }
                Err(e) => {
                    tracing::warn!(canvas = %s.canvas_id, "cannot record what settled the canvas: {e}");
                    break;
                }
            }
        }
    }
}

/// Adds each canvas task's follow-ups to its commit (computed afresh on every attempt), writes
/// the nodes a failure leaves never to run, and collects the canvas states the commits settle,
/// by their index in the batch.
async fn with_follow_ups(
    config: &WorkerConfig,
    batch: &mut [Commit],
    settled: &mut Vec<(usize, Settlement)>,
) -> Result<(), stem_adapters::AdapterError> {
    let route = |name: &str| config.manifest.effective(name).map(|t| t.queue);
    for (i, c) in batch.iter_mut().enumerate() {
        let (Some(env), Some(record)) = (c.delivery.task(), c.record.as_ref()) else {
            continue;
        };
        if env.canvas.is_none() {
            continue;
        }
        let found = crate::canvas::follow::follow_ups(
            &config.adapters,
            config.result_ttl,
            env,
            record,
            &route,
        )
        .await;
        let (follow_ups, settlement) = match found {
            Ok(found) => found,
            // A group result refused (signature, encryption) or unreadable: this task's outcome
            // is committed without follow-ups, and the rest of the batch is not held up by it.
            Err(e) if !e.is_transient() => {
                tracing::error!(task = %env.id, "no follow-up published for this canvas task: {e}");
                continue;
            }
            Err(e) => return Err(e),
        };
        c.follow_ups = follow_ups;
        settle::write_skipped(&config.adapters, config.result_ttl, &settlement).await?;
        if settlement.outcome.is_some() {
            settled.push((i, settlement));
        }
    }
    Ok(())
}
