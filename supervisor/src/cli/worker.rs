//! `stem worker`: run a worker on a manifest; `stem worker ping|inspect|stats|shutdown|pause|
//! resume|revoke` talk to running ones over the control plane.

use super::conn::ConnArgs;
use super::{CliError, CliResult};
use crate::manifest::LoadedManifest;
use crate::telemetry::settings::{Settings, TelemetryConfig};
use crate::worker::{self, WorkerConfig};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct WorkerCmd {
    #[command(subcommand)]
    pub command: Option<super::control::ControlCmd>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args)]
pub struct RunArgs {
    /// The task manifest.
    #[arg(long, short, env = "STEM_MANIFEST", default_value = "stem.toml")]
    pub manifest: PathBuf,
    /// Tasks run at once (default: the number of cores).
    #[arg(long, short, value_parser = parse_concurrency)]
    pub concurrency: Option<usize>,
    /// Deliveries leased ahead of free slots (default: adaptive — 4 × concurrency, as Celery's
    /// prefetch multiplier, widened for short tasks to about 100 ms of work per slot, at most
    /// 256; a number fixes it; 0 fetches only for free slots — fairest for long tasks).
    #[arg(long)]
    pub prefetch: Option<usize>,
    /// Queues to consume, comma-separated (default: every queue the manifest routes to).
    #[arg(long, short, value_delimiter = ',')]
    pub queues: Option<Vec<String>>,
    /// This worker's id (default: HOST-PID).
    #[arg(long, env = "STEM_WORKER_ID")]
    pub worker_id: Option<String>,
    /// Lease of a fetched task (visibility timeout), e.g. 30s.
    #[arg(long, value_parser = parse_duration)]
    pub visibility_timeout: Option<Duration>,
    /// Grace between TERM and KILL for revoke --terminate.
    #[arg(long, value_parser = parse_duration)]
    pub terminate_grace: Option<Duration>,
    /// Drain the queues, then exit (for batch jobs and benchmarks).
    #[arg(long)]
    pub burst: bool,
    /// Heartbeat interval.
    #[arg(long, value_parser = parse_duration)]
    pub heartbeat: Option<Duration>,
    /// Exit at once when a store cannot be reached at start (default: retry with backoff,
    /// logging each attempt, until it answers or the worker is stopped).
    #[arg(long)]
    pub fail_fast: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464). OTLP and console
    /// exporters are chosen with OTEL_METRICS_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT (see
    /// docs/observability.md).
    #[arg(long, value_name = "ADDR", env = "STEM_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// `--concurrency`: a whole number of slots, at least 1.
fn parse_concurrency(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1 (the number of tasks run at once)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a whole number of slots")),
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    stem_protocol::duration::parse_duration(s)
}

/// The longest pause between two attempts to reach the stores at start.
const START_RETRY_CAP: Duration = Duration::from_secs(30);

/// Connects the stores; one that is down (not misconfigured) is tried again with backoff, as
/// Celery's `broker_connection_retry_on_startup`, unless `fail_fast`. SIGTERM/SIGINT end the
/// wait.
async fn connect_with_retry(
    conn: &ConnArgs,
    settings: &stem_protocol::manifest::Settings,
    fail_fast: bool,
) -> CliResult<stem_adapters::Adapters> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut pause = Duration::from_secs(1);
    let mut attempt = 1u32;
    loop {
        match conn.connect(Some(settings)).await {
            Ok(adapters) => {
                if attempt > 1 {
                    tracing::info!(attempt, "the stores answer; starting");
                }
                return Ok(adapters);
            }
            Err(e) if fail_fast || e.code != super::EXIT_FAILED => return Err(e),
            Err(e) => {
                tracing::warn!(
                    attempt,
                    "cannot reach the stores at start ({}); retrying in {pause:?} (--fail-fast exits instead)",
                    e.message
                );
            }
        }
        let stopped = async {
            match term.as_mut() {
                Some(t) => {
                    tokio::select! {
                        _ = t.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                }
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stopped => {
                return Err(CliError::failed("stopped while waiting for the stores to answer"));
            }
        }
        pause = (pause * 2).min(START_RETRY_CAP);
        attempt += 1;
    }
}

pub async fn run(conn: &ConnArgs, cmd: WorkerCmd) -> CliResult {
    if let Some(control) = cmd.command {
        return super::control::run(conn, control).await;
    }
    let args = cmd.run;
    let mut manifest =
        LoadedManifest::load(&args.manifest).map_err(|e| CliError::usage(e.to_string()))?;
    crate::startup::check_paths(&manifest).map_err(|e| CliError::usage(e.to_string()))?;
    let telemetry = Settings::from_env().map_err(CliError::usage)?;
    telemetry.hand_to_runtimes(&mut manifest.manifest.runtimes);
    let settings = manifest.manifest.stem.clone();
    let adapters = connect_with_retry(conn, &settings, args.fail_fast).await?;
    let urls = conn.urls(Some(&settings));
    let queues = args
        .queues
        .or(settings.queues.clone())
        .unwrap_or_else(|| manifest.manifest.queues());
    if queues.is_empty() {
        return Err(CliError::usage(format!(
            "{}: the manifest names no tasks, so there is nothing to consume",
            args.manifest.display()
        )));
    }
    let concurrency = args
        .concurrency
        .or(settings.concurrency)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .max(1);
    let host = hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "host".into());
    let config = WorkerConfig {
        worker_id: args
            .worker_id
            .unwrap_or_else(|| format!("{host}-{}", std::process::id())),
        manifest: Arc::new(manifest),
        adapters,
        queues,
        concurrency,
        prefetch: crate::worker::window::Prefetch::new(args.prefetch, concurrency),
        lease: args
            .visibility_timeout
            .or(settings.visibility_timeout)
            .unwrap_or(WorkerConfig::DEFAULT_LEASE)
            .max(Duration::from_millis(300)),
        result_ttl: settings
            .result_ttl
            .unwrap_or(WorkerConfig::DEFAULT_RESULT_TTL),
        max_deliveries: settings
            .max_deliveries
            .unwrap_or(WorkerConfig::DEFAULT_MAX_DELIVERIES),
        terminate_grace: args
            .terminate_grace
            .unwrap_or(WorkerConfig::DEFAULT_TERMINATE_GRACE),
        heartbeat_interval: args.heartbeat.unwrap_or(WorkerConfig::DEFAULT_HEARTBEAT),
        burst: args.burst,
        shared_store: urls.broker == urls.backend,
        telemetry: TelemetryConfig {
            settings: telemetry,
            metrics_listen: args.metrics_listen,
        },
    };
    worker::run(config)
        .await
        .map_err(|e| CliError::failed(e.to_string()))
}
