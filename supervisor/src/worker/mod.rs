//! The worker: one `stem worker` process. A consumer leases deliveries from the broker while
//! there is capacity; each delivery runs in a runner (revoke check, executor, recorder, then
//! ack); around them, a lease extender, a revoke watcher, the control plane, heartbeats and the
//! event flusher. SIGTERM/SIGINT: warm shutdown (stop fetching, finish running tasks); a second
//! signal: cold (kill the children, release their tasks to the broker).
//!
//! ```text
//! broker --fetch--> consumer --> runner --> executor --> child
//!                                  |
//!                                  +--> recorder --> result backend, then ack --> broker
//! ```

pub mod completer;
pub mod config;
pub mod consumer;
pub mod control;
pub mod dispatch;
pub mod events;
pub mod heartbeat;
pub mod leases;
pub mod recorder;
pub mod retry;
pub mod revokes;
pub mod runner;
pub mod settle;
pub mod shutdown;
pub mod state;

pub use config::WorkerConfig;
pub use state::WorkerState;

use crate::exec::Executor;
use std::sync::Arc;

/// Runs a worker until it is shut down; returns when every task is finished or released.
pub async fn run(config: WorkerConfig) -> anyhow::Result<()> {
    let executor = Arc::new(Executor::new(
        config.manifest.clone(),
        config.concurrency,
        &config.worker_id,
    ));
    let (completions, completions_rx) = completer::channel();
    let (dispatch_tx, dispatch_rx) = dispatch::channel();
    let state = Arc::new(WorkerState::new(
        config,
        executor.clone(),
        completions,
        dispatch_tx,
    ));
    tracing::info!(
        worker = %state.config.worker_id,
        queues = %state.config.queues.join(","),
        concurrency = state.config.concurrency,
        broker = state.adapters().broker.backend(),
        backend = state.adapters().backend.backend(),
        "worker starting"
    );
    revokes::load(&state).await;
    executor.prewarm();

    let mut tasks = tokio::task::JoinSet::new();
    let completer = tokio::spawn(completer::run(state.clone(), completions_rx));
    let dispatcher = tokio::spawn(dispatch::run(state.clone(), dispatch_rx));
    tasks.spawn(shutdown::watch_signals(state.clone()));
    tasks.spawn(leases::extend_loop(state.clone()));
    tasks.spawn(revokes::watch(state.clone()));
    tasks.spawn(control::serve(state.clone()));
    tasks.spawn(heartbeat::beat(state.clone()));
    tasks.spawn(events::flush_loop(state.clone()));
    tracing::info!(worker = %state.config.worker_id, "worker ready");
    consumer::consume(state.clone()).await;

    state.wait_idle().await;
    events::flush(&state).await;
    heartbeat::goodbye(&state).await;
    executor.shutdown().await;
    tasks.abort_all();
    completer.abort();
    dispatcher.abort();
    tracing::info!(worker = %state.config.worker_id, "worker stopped");
    Ok(())
}
