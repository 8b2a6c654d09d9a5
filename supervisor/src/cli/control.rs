//! `stem worker ping|inspect|stats|shutdown|pause|resume|revoke`: commands to running workers
//! over the control plane (see [`crate::ops::control`]); replies are gathered for `--timeout`.

use super::conn::ConnArgs;
use super::{CliError, CliResult};
use crate::ops::control::{self, WorkerCommand};
use crate::ops::revoke::RevokeRequest;
use clap::{Args, Subcommand};
use serde_json::Value;
use std::time::Duration;

#[derive(Args, Clone)]
pub struct Target {
    /// Only this worker (default: all).
    #[arg(long)]
    pub worker: Option<String>,
    /// How long to gather replies.
    #[arg(long, default_value = "2s", value_parser = super::worker::parse_duration)]
    pub timeout: Duration,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum ControlCmd {
    /// Which workers answer.
    Ping(Target),
    /// Running tasks (with runtime and pid), reserved tasks, revoked ids.
    Inspect(Target),
    /// Counters, uptime, pool state, RSS.
    Stats(Target),
    /// Warm shutdown of one worker (--worker) or all.
    Shutdown(Target),
    /// Stop fetching from a queue: for every worker, stored in the broker (as `stem queue
    /// pause`), or with --worker for that worker only until it restarts.
    Pause {
        #[arg(long)]
        queue: String,
        #[command(flatten)]
        target: Target,
    },
    /// Fetch from a paused queue again.
    Resume {
        #[arg(long)]
        queue: String,
        #[command(flatten)]
        target: Target,
    },
    /// Revoke a task (same as `stem revoke`).
    Revoke {
        #[arg(long)]
        task: String,
        #[arg(long)]
        terminate: bool,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(conn: &ConnArgs, cmd: ControlCmd) -> CliResult {
    let adapters = conn.connect(None).await?;
    let (command, target) = match cmd {
        ControlCmd::Ping(t) => (WorkerCommand::Ping, t),
        ControlCmd::Inspect(t) => (WorkerCommand::Inspect, t),
        ControlCmd::Stats(t) => (WorkerCommand::Stats, t),
        ControlCmd::Shutdown(t) => (WorkerCommand::Shutdown, t),
        ControlCmd::Pause { queue, target } => (WorkerCommand::Pause { queue }, target),
        ControlCmd::Resume { queue, target } => (WorkerCommand::Resume { queue }, target),
        ControlCmd::Revoke {
            task,
            terminate,
            json,
        } => {
            let request = RevokeRequest {
                terminate,
                ..RevokeRequest::new(task)
            };
            return super::revoke::revoke_and_print(&adapters, &request, json).await;
        }
    };
    if let WorkerCommand::Pause { queue } | WorkerCommand::Resume { queue } = &command {
        let paused = matches!(command, WorkerCommand::Pause { .. });
        let manifest = crate::ops::enqueue::find_manifest(None)?;
        let routed = manifest.map(|m| m.manifest.queues()).unwrap_or_default();
        if target.worker.is_none() {
            let state = crate::ops::queues::set_paused(&adapters, queue, paused, &routed).await?;
            if !target.json {
                println!(
                    "{queue} {} for every worker (stored in the broker)",
                    if state.paused { "paused" } else { "resumed" }
                );
            }
        } else {
            crate::ops::queues::check_known(&adapters, queue, &routed).await?;
        }
    }
    let answers = control::send(
        &adapters,
        &command,
        target.worker.as_deref(),
        target.timeout,
    )
    .await?;
    if target.json {
        println!("{}", Value::Object(answers.by_worker()));
    } else {
        for r in &answers.replies {
            match command {
                WorkerCommand::Ping => println!("{}: pong", r.worker),
                _ => println!("{}: {}", r.worker, serde_json::to_string_pretty(&r.reply)?),
            }
        }
    }
    let stored = matches!(
        command,
        WorkerCommand::Pause { .. } | WorkerCommand::Resume { .. }
    ) && target.worker.is_none();
    if answers.replies.is_empty() && !stored {
        return Err(CliError::failed(format!(
            "no worker answered {} within {:?}",
            answers.command, target.timeout
        )));
    }
    Ok(())
}
