//! `stem queue pause|resume|list`: a pause stored in the broker, seen by every worker (also
//! those started later) until resumed; unknown queues are refused (see [`crate::ops::queues`]).

use super::conn::ConnArgs;
use super::output::print_json;
use super::CliResult;
use crate::ops::enqueue::find_manifest;
use crate::ops::queues;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args)]
pub struct QueueArgs {
    /// The queue.
    pub queue: String,
    /// The manifest whose task routes count as known queues (default: ./stem.toml if present).
    #[arg(long, env = "STEM_MANIFEST")]
    pub manifest: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum QueueCmd {
    /// Stop every worker fetching from a queue (running tasks finish).
    Pause(QueueArgs),
    /// Let workers fetch from a paused queue again.
    Resume(QueueArgs),
    /// Every known queue with its sizes and whether it is paused (as `stem observe queues`).
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(conn: &ConnArgs, cmd: QueueCmd) -> CliResult {
    let (args, paused) = match cmd {
        QueueCmd::Pause(a) => (a, true),
        QueueCmd::Resume(a) => (a, false),
        QueueCmd::List { json } => {
            let adapters = conn.connect(None).await?;
            let sizes = queues::sizes(&adapters, None).await?;
            if json {
                return Ok(print_json(&sizes)?);
            }
            if sizes.is_empty() {
                println!(
                    "no queues yet (a queue appears with its first task: `stem enqueue TASK`)"
                );
            }
            for s in &sizes {
                println!(
                    "{:<20} ready={} delayed={} leased={} dead={}{}",
                    s.queue,
                    s.counts.ready,
                    s.counts.delayed,
                    s.counts.leased,
                    s.counts.dead,
                    if s.paused { "  PAUSED" } else { "" }
                );
            }
            return Ok(());
        }
    };
    let manifest = find_manifest(args.manifest.as_deref())?;
    let routed = manifest
        .as_ref()
        .map(|m| m.manifest.queues())
        .unwrap_or_default();
    let settings = manifest.as_ref().map(|m| m.manifest.stem.clone());
    let adapters = conn.connect(settings.as_ref()).await?;
    let state = queues::set_paused(&adapters, &args.queue, paused, &routed).await?;
    if args.json {
        return Ok(print_json(&state)?);
    }
    println!(
        "{} {} for every worker (paused now: {})",
        state.queue,
        if paused { "paused" } else { "resumed" },
        if state.paused_queues.is_empty() {
            "none".to_string()
        } else {
            state.paused_queues.join(", ")
        }
    );
    Ok(())
}
