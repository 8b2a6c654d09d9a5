//! The worker: one `stem worker` process. One dispatcher owns every delivery's state and talks
//! to the tasks around it through channels: the fetcher (leases batches from the broker), one
//! execution per running delivery (a child through the executor), the commit loop (one fenced
//! commit per outcome, batched), and the control, revoke, heartbeat, signal, event-flush and
//! stats-history tasks. Lifecycle steps are reported to one observer (and, when configured, exported as
//! OpenTelemetry metrics and spans). SIGTERM/SIGINT: warm shutdown (stop
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
mod debounce;
pub mod delivery;
pub mod dispatcher;
mod events;
pub mod execution;
pub mod fetcher;
pub mod flow;
pub mod heartbeat;
pub mod history;
pub mod leases;
mod local_fair;
pub mod outcome;
pub mod report;
pub mod retry;
pub mod revokes;
pub mod screen;
pub mod signals;
pub mod window;

pub use config::WorkerConfig;

use crate::exec::Executor;
use crate::observe::counters::Counters;
use crate::observe::events::EventSink;
use crate::observe::gauges::Gauges;
use crate::observe::log::LogSink;
use crate::observe::otel::OtelSink;
use crate::observe::{Observer, Sink};
use crate::telemetry::{prom, Telemetry};
use dispatcher::Dispatcher;
use execution::RunContext;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Starts the exporters, the gauges and the scrape endpoint the configuration asks for; the
/// sink is `None` when nothing is exported.
async fn telemetry(
    config: &WorkerConfig,
    tasks: &mut tokio::task::JoinSet<()>,
) -> anyhow::Result<(Telemetry, Option<Gauges>, Option<Arc<OtelSink>>)> {
    let t = &config.telemetry;
    let telemetry = Telemetry::start(
        &t.settings,
        t.metrics_listen.is_some(),
        "stem-worker",
        &config.worker_id,
    )
    .map_err(anyhow::Error::msg)?;
    if let (Some(addr), Some(registry)) = (t.metrics_listen, telemetry.registry()) {
        let bound = prom::listen(addr, registry.clone())
            .await
            .map_err(anyhow::Error::msg)?;
        tracing::info!("metrics at http://{bound}/metrics");
    }
    let meter = telemetry.meter();
    let tracer = telemetry.tracer();
    if meter.is_none() && tracer.is_none() {
        return Ok((telemetry, None, None));
    }
    let gauges = meter.as_ref().map(|m| {
        let g = Gauges::default();
        g.register(m);
        let workflows = (!config.manifest.manifest.workflows.is_empty())
            .then(|| config.adapters.workflows.clone());
        tasks.spawn(g.clone().poll_queues(
            config.adapters.admin.clone(),
            workflows,
            config.queues.clone(),
            config.heartbeat_interval,
        ));
        g
    });
    let known = config.manifest.manifest.task_names().into_iter().collect();
    let sink = Arc::new(OtelSink::new(meter.as_ref(), tracer, known));
    Ok((telemetry, gauges, Some(sink)))
}

/// The log sink: every outcome an INFO line with its durations in the JSON log format.
fn log_sink() -> LogSink {
    LogSink::new(crate::logging::format() == crate::logging::LogFormat::Json)
}

/// Runs a worker until it is shut down; returns when every task is finished or given back.
pub async fn run(config: WorkerConfig) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let mut tasks = tokio::task::JoinSet::new();
    let (telemetry, gauges, otel) = telemetry(&config, &mut tasks).await?;
    let counters = Arc::new(Counters::default());
    let events_sink = Arc::new(EventSink::default());
    let mut sinks: Vec<Arc<dyn Sink>> =
        vec![counters.clone(), events_sink.clone(), Arc::new(log_sink())];
    let child_traces = telemetry.tracer().is_some();
    if let Some(sink) = otel {
        sinks.push(sink);
    }
    let observer = Observer::new(&config.worker_id, sinks);
    let history = Arc::new(history::HistoryFlusher::new(
        counters.clone(),
        config.adapters.history.clone(),
    ));
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
    crate::ops::time::warn_on_skew(config.adapters.broker.as_ref()).await;
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
        child_traces,
    });
    tasks.spawn(fetcher::run(config.clone(), fetch_rx, events_tx.clone()));
    tasks.spawn(commits::run(config.clone(), commit_rx, events_tx.clone()));
    tasks.spawn(signals::forward(events_tx.clone()));
    tasks.spawn(crate::ops::time::track_skew(
        config.adapters.broker.clone(),
        std::time::Duration::from_secs(30),
    ));
    if reaps {
        tasks.spawn(crate::exec::reaper::run());
    }
    // Every process a task starts is ended with it: cgroups, or tracked process trees.
    tracing::info!("task process trees: {}", crate::exec::cgroup::describe());
    tasks.spawn(crate::exec::tree::run());
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
    tasks.spawn(heartbeat::beat(config.clone(), events_tx.clone(), gauges));
    tasks.spawn(
        events_sink
            .clone()
            .flush_loop(config.adapters.control.clone()),
    );
    tasks.spawn(history.clone().flush_loop());
    drop(events_tx);
    tracing::info!(worker = %config.worker_id, "worker ready");
    Dispatcher::new(ctx, counters, fetch_tx, commit_tx, revoked)
        .run(events_rx)
        .await;

    events_sink.flush(config.adapters.control.as_ref()).await;
    history.flush().await;
    heartbeat::goodbye(&config).await;
    for p in executor.pool_states() {
        tracing::debug!(runtime = %p.runtime, started = p.started, recycled = p.recycled, replaced = p.replaced, pipelined = p.pipelined, "children");
    }
    executor.shutdown().await;
    tasks.abort_all();
    let _ = tokio::task::spawn_blocking(crate::exec::tree::teardown).await;
    let telemetry = Arc::new(telemetry);
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    tracing::info!(worker = %config.worker_id, "worker stopped");
    Ok(())
}
