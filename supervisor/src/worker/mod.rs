//! The worker: one `stem worker` process. One dispatcher owns every delivery's state and talks
//! to the tasks around it through channels: the fetcher (leases batches from the broker), one
//! execution per running delivery (a child through the executor), the commit loop (one fenced
//! commit per outcome, batched), and the control, revoke, heartbeat, signal and event-flush
//! tasks. Lifecycle steps are reported to one observer. SIGTERM/SIGINT: warm shutdown (stop
//! fetching, finish running tasks); a second signal: cold (kill the children, give their tasks
//! back).
//!
//! ```text
//! broker --fetch--> fetcher --Fetched--> DISPATCHER --run--> execution --> executor --> child
//!                                          ^   |                 |
//!                                          |   +--Commit--> commit loop --> broker/backend
//!                                          +------- events (Finished, Committed, Extended, ...)
//! ```

pub mod commits;
pub mod config;
pub mod control;
pub mod delivery;
pub mod dispatcher;
pub mod execution;
pub mod fetcher;
pub mod flow;
pub mod heartbeat;
pub mod leases;
pub mod outcome;
pub mod report;
pub mod retry;
pub mod revokes;
pub mod screen;
pub mod signals;

pub use config::WorkerConfig;

use crate::exec::Executor;
use crate::observe::counters::Counters;
use crate::observe::events::EventSink;
use crate::observe::log::LogSink;
use crate::observe::{Observer, Sink};
use dispatcher::Dispatcher;
use execution::RunContext;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Runs a worker until it is shut down; returns when every task is finished or given back.
pub async fn run(config: WorkerConfig) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let counters = Arc::new(Counters::default());
    let events_sink = Arc::new(EventSink::default());
    let sinks: Vec<Arc<dyn Sink>> = vec![counters.clone(), events_sink.clone(), Arc::new(LogSink)];
    let observer = Observer::new(&config.worker_id, sinks);
    let executor = Arc::new(Executor::new(
        config.manifest.clone(),
        config.concurrency,
        &config.worker_id,
        observer.clone(),
    ));
    tracing::info!(
        worker = %config.worker_id,
        queues = %config.queues.join(","),
        concurrency = config.concurrency,
        broker = config.adapters.broker.backend(),
        backend = config.adapters.backend.backend(),
        "worker starting"
    );
    // Orphaned grandchildren come to this process (always so as PID 1 in a container).
    let reaps = crate::exec::reaper::become_subreaper();
    let revoked = revokes::load(config.adapters.revokes.as_ref()).await;
    executor.prewarm();

    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (fetch_tx, fetch_rx) = mpsc::unbounded_channel();
    let (commit_tx, commit_rx) = mpsc::unbounded_channel();
    let ctx = Arc::new(RunContext {
        config: config.clone(),
        executor: executor.clone(),
        observer,
        events: events_tx.clone(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(fetcher::run(config.clone(), fetch_rx, events_tx.clone()));
    tasks.spawn(commits::run(config.clone(), commit_rx, events_tx.clone()));
    tasks.spawn(signals::forward(events_tx.clone()));
    if reaps {
        tasks.spawn(crate::exec::reaper::run());
    }
    // Beside the start, not before it: a runtime slow to say hello delays no other task.
    let manifest = config.manifest.clone();
    tasks.spawn(async move {
        crate::exec::probe::probe_all(&manifest).await;
    });
    tasks.spawn(revokes::watch(
        config.adapters.revokes.clone(),
        events_tx.clone(),
    ));
    tasks.spawn(control::serve(config.clone(), events_tx.clone()));
    tasks.spawn(flow::watch_pauses(
        config.adapters.flow.clone(),
        events_tx.clone(),
    ));
    tasks.spawn(heartbeat::beat(config.clone(), events_tx.clone()));
    tasks.spawn(
        events_sink
            .clone()
            .flush_loop(config.adapters.control.clone()),
    );
    drop(events_tx);
    tracing::info!(worker = %config.worker_id, "worker ready");
    Dispatcher::new(ctx, counters, fetch_tx, commit_tx, revoked)
        .run(events_rx)
        .await;

    events_sink.flush(config.adapters.control.as_ref()).await;
    heartbeat::goodbye(&config).await;
    executor.shutdown().await;
    tasks.abort_all();
    tracing::info!(worker = %config.worker_id, "worker stopped");
    Ok(())
}
