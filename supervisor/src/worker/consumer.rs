//! The consumer: leases deliveries while the prefetch window (run slots plus `prefetch`) has
//! room, in batches, and hands each to a runner, which waits reserved for a run slot. Broker
//! errors are logged and retried with backoff; the worker keeps running.

use super::dispatch;
use super::state::{Phase, WorkerState};
use std::sync::Arc;
use std::time::Duration;

/// Most deliveries asked for in one fetch.
const MAX_BATCH: u32 = 64;
/// How long one fetch may wait for work before looking at the shutdown phase again.
const FETCH_WAIT: Duration = Duration::from_secs(1);

pub async fn consume(state: Arc<WorkerState>) {
    let mut phase = state.phase_watch();
    let mut backoff = Duration::from_millis(200);
    loop {
        if state.phase() != Phase::Running {
            break;
        }
        // While enough work waits reserved to keep every run slot busy, let the window drain to
        // half before fetching again, so each fetch brings a batch rather than a task or two;
        // otherwise fetch as soon as one place is free. Then take every other free place.
        let window = (state.config.concurrency + state.config.prefetch) as u32;
        let buffered = state.reserved.lock().expect("reserved lock").len();
        let wanted = if buffered >= state.config.concurrency {
            (window / 2).max(1)
        } else {
            1
        };
        let first = tokio::select! {
            p = state.capacity.clone().acquire_many_owned(wanted) => p.expect("semaphore open"),
            _ = phase.changed() => continue,
        };
        let mut permits = first;
        while permits.num_permits() < MAX_BATCH as usize {
            match state.capacity.clone().try_acquire_owned() {
                Ok(p) => permits.merge(p),
                Err(_) => break,
            }
        }
        let queues = state.active_queues();
        if queues.is_empty() {
            drop(permits);
            tokio::select! {
                _ = tokio::time::sleep(FETCH_WAIT) => {}
                _ = phase.changed() => {}
            }
            continue;
        }
        let fetched = state
            .adapters()
            .broker
            .fetch(
                &state.config.worker_id,
                &queues,
                permits.num_permits(),
                state.config.lease,
                FETCH_WAIT,
            )
            .await;
        let deliveries = match fetched {
            Ok(d) => {
                backoff = Duration::from_millis(200);
                d
            }
            Err(e) => {
                drop(permits);
                tracing::warn!("fetch from the broker failed ({e}); retrying in {backoff:?}");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = phase.changed() => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if deliveries.is_empty()
            && state.config.burst
            && state.active.load(std::sync::atomic::Ordering::SeqCst) == 0
        {
            tracing::info!("burst mode: the queues are drained; stopping");
            state.advance(Phase::Warm);
        }
        for delivery in deliveries {
            if state.phase() != Phase::Running {
                // Shutdown began while we were fetching: give it straight back.
                if let Err(e) = state
                    .adapters()
                    .broker
                    .release(&delivery, None, Duration::ZERO)
                    .await
                {
                    tracing::warn!(
                        "cannot release {} at shutdown ({e}); its lease will expire",
                        delivery.task_id()
                    );
                }
                continue;
            }
            let permit = permits.split(1).expect("one permit per delivery");
            dispatch::reserve(&state, delivery, permit);
        }
        drop(permits);
    }
    state.notify_progress();
}
