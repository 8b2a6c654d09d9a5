//! `stem worker ping|inspect|stats|shutdown|pause|resume|revoke`: commands to running workers
//! over the control plane; replies are gathered for `--timeout`.

use super::conn::ConnArgs;
use super::{CliError, CliResult};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::time::Duration;
use stem_adapters::ControlRequest;

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
    /// Stop fetching from a queue.
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
    let (command, args, target) = match cmd {
        ControlCmd::Ping(t) => ("ping", Value::Null, t),
        ControlCmd::Inspect(t) => ("inspect", Value::Null, t),
        ControlCmd::Stats(t) => ("stats", Value::Null, t),
        ControlCmd::Shutdown(t) => ("shutdown", Value::Null, t),
        ControlCmd::Pause { queue, target } => ("pause", json!({"queue": queue}), target),
        ControlCmd::Resume { queue, target } => ("resume", json!({"queue": queue}), target),
        ControlCmd::Revoke {
            task,
            terminate,
            json,
        } => {
            return super::revoke::revoke(
                &adapters,
                &task,
                terminate,
                None,
                Duration::from_secs(86400),
                json,
            )
            .await;
        }
    };
    let request = ControlRequest {
        id: stem_protocol::new_task_id(),
        command: command.into(),
        args,
        target: target.worker.clone(),
        sent_at: stem_protocol::now_ms(),
    };
    adapters.control.send(&request).await?;
    let expect = target.worker.as_ref().map(|_| 1);
    let mut replies = adapters
        .control
        .replies(&request.id, expect, target.timeout)
        .await?;
    replies.sort_by(|a, b| a.worker.cmp(&b.worker));
    if target.json {
        let map: serde_json::Map<String, Value> = replies
            .iter()
            .map(|r| (r.worker.clone(), r.reply.clone()))
            .collect();
        println!("{}", Value::Object(map));
    } else {
        for r in &replies {
            match command {
                "ping" => println!("{}: pong", r.worker),
                _ => println!("{}: {}", r.worker, serde_json::to_string_pretty(&r.reply)?),
            }
        }
    }
    if replies.is_empty() {
        return Err(CliError::failed(format!(
            "no worker answered {command} within {:?}",
            target.timeout
        )));
    }
    Ok(())
}
