//! `stem beat`: run a beat on the schedule store until SIGTERM or SIGINT (see [`crate::beat`]).
//! Any number may run; one leads. A store that cannot be reached at start is retried, like one
//! lost later; only a wrong URL ends the command.

use super::conn::ConnArgs;
use super::worker::parse_duration;
use super::{CliError, CliResult};
use crate::beat::fire::Routes;
use crate::beat::{Beat, BeatConfig, SystemClock};
use crate::ops::enqueue::find_manifest;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

#[derive(Args)]
pub struct BeatArgs {
    /// The manifest that routes the schedules' tasks (default: ./stem.toml if present).
    #[arg(long, env = "STEM_MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// This beat's name in the lock (default: host, pid and a random suffix).
    #[arg(long)]
    pub beat_id: Option<String>,
    /// The lock's lease: a frozen or dead leader is replaced after this.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub lock_ttl: Duration,
    /// How often to look at the schedules.
    #[arg(long, default_value = "250ms", value_parser = parse_duration)]
    pub tick: Duration,
    /// A fire published this late or less is on time; later ones follow `catch_up`.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub grace: Duration,
}

pub async fn run(conn: &ConnArgs, args: BeatArgs) -> CliResult {
    let manifest = find_manifest(args.manifest.as_deref())?;
    let settings = manifest.as_ref().map(|m| m.manifest.stem.clone());
    let holder = args.beat_id.clone().unwrap_or_else(|| {
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "host".into());
        let tag = uuid::Uuid::new_v4().simple().to_string();
        format!("{host}-{}-{}", std::process::id(), &tag[..8])
    });
    let mut config = BeatConfig::new(&holder);
    config.lock_ttl = args.lock_ttl;
    config.tick = args.tick;
    config.grace = args.grace;
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| CliError::failed(format!("cannot watch SIGTERM: {e}")))?;
    let mut int = signal(SignalKind::interrupt())
        .map_err(|e| CliError::failed(format!("cannot watch SIGINT: {e}")))?;
    let mut pause = Duration::from_millis(200);
    let adapters = loop {
        match conn.connect(settings.as_ref()).await {
            Ok(a) => break a,
            Err(e) if e.code == super::EXIT_USAGE => return Err(e),
            Err(e) => {
                tracing::warn!(error = e.message, "beat: cannot connect yet; retrying");
                tokio::select! {
                    _ = term.recv() => return Ok(()),
                    _ = int.recv() => return Ok(()),
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    };
    let routes = Routes::new(manifest.map(|m| m.manifest));
    let beat = Beat::new(
        adapters.schedules.clone(),
        adapters.broker.clone(),
        routes,
        config,
        Arc::new(SystemClock),
    );
    beat.run(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
    .await;
    Ok(())
}
