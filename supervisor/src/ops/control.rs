//! Commands to running workers over the control plane (ping, inspect, stats, shutdown, pause
//! and resume a queue): send one request to a worker or to all, then gather the replies until
//! the timeout or, for one worker, its answer.

use super::OpsResult;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::time::Duration;
use stem_adapters::{Adapters, ControlReply, ControlRequest};
use stem_protocol::{new_task_id, now_ms};

/// What to ask of workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerCommand {
    /// Which workers answer.
    Ping,
    /// Running tasks (with runtime and pid), reserved tasks, revoked ids.
    Inspect,
    /// Counters, uptime, pool state, RSS.
    Stats,
    /// Shut down: `warm` (finish running tasks), `soft` (the soft limit now, then finish) or
    /// `hard` (kill the running tasks and give them back to the queue).
    Shutdown { mode: ShutdownMode },
    /// Stop fetching from a queue.
    Pause { queue: String },
    /// Fetch from a paused queue again.
    Resume { queue: String },
}

impl WorkerCommand {
    /// The command's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            WorkerCommand::Ping => "ping",
            WorkerCommand::Inspect => "inspect",
            WorkerCommand::Stats => "stats",
            WorkerCommand::Shutdown { .. } => "shutdown",
            WorkerCommand::Pause { .. } => "pause",
            WorkerCommand::Resume { .. } => "resume",
        }
    }

    fn args(&self) -> Value {
        match self {
            WorkerCommand::Pause { queue } | WorkerCommand::Resume { queue } => {
                json!({"queue": queue})
            }
            WorkerCommand::Shutdown { mode } => json!({"mode": mode.name()}),
            _ => Value::Null,
        }
    }
}

/// How a worker shuts down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ShutdownMode {
    /// Stop fetching, finish the running tasks, give reserved ones back.
    #[default]
    Warm,
    /// As warm, after acting on every running task's soft limit now (the SDK raises
    /// SoftTimeLimitExceeded; exec tasks get their soft signal).
    Soft,
    /// Kill the running tasks and give them back to the queue unrecorded.
    Hard,
}

impl ShutdownMode {
    pub fn name(self) -> &'static str {
        match self {
            ShutdownMode::Warm => "warm",
            ShutdownMode::Soft => "soft",
            ShutdownMode::Hard => "hard",
        }
    }
}

/// The replies to one command, by worker id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerReplies {
    pub command: &'static str,
    /// Sorted by worker id.
    pub replies: Vec<ControlReply>,
}

impl WorkerReplies {
    /// Each worker's reply, keyed by its id.
    pub fn by_worker(&self) -> Map<String, Value> {
        self.replies
            .iter()
            .map(|r| (r.worker.clone(), r.reply.clone()))
            .collect()
    }
}

/// A worker whose last heartbeat is older than this is not waited for.
pub const LIVE_LAPSE: Duration = Duration::from_secs(6);

/// Sends `command` to `worker` (or every worker when `None`) and gathers replies until every
/// live worker (by heartbeat) answered — the one addressed worker, or all of them — or
/// `timeout` passes. No reply is not an error: it is an empty list.
pub async fn send(
    adapters: &Adapters,
    command: &WorkerCommand,
    worker: Option<&str>,
    timeout: Duration,
) -> OpsResult<WorkerReplies> {
    let request = ControlRequest {
        id: new_task_id(),
        command: command.name().into(),
        args: command.args(),
        target: worker.map(str::to_string),
        sent_at: now_ms(),
    };
    adapters.control.send(&request).await?;
    let expect = match worker {
        Some(_) => Some(1),
        None => live_workers(adapters).await,
    };
    let mut replies = adapters
        .control
        .replies(&request.id, expect, timeout)
        .await?;
    replies.sort_by(|a, b| a.worker.cmp(&b.worker));
    Ok(WorkerReplies {
        command: command.name(),
        replies,
    })
}

/// How many workers sent a heartbeat within [`LIVE_LAPSE`]; `None` (wait the whole timeout)
/// when there are none, or they cannot be counted: a worker starting now may answer yet.
async fn live_workers(adapters: &Adapters) -> Option<usize> {
    let now = now_ms();
    let workers = adapters.control.workers().await.ok()?;
    let live = workers
        .iter()
        .filter(|h| !super::workers::is_lapsed(h.at, now, LIVE_LAPSE))
        .count();
    (live > 0).then_some(live)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::{answer_one, memory};

    #[tokio::test]
    async fn a_command_gathers_the_addressed_workers_reply() {
        let adapters = memory("control-pause").await;
        let worker = tokio::spawn(answer_one(adapters.clone(), "w1", json!({"paused": "q"})));
        let pause = WorkerCommand::Pause { queue: "q".into() };
        let got = send(&adapters, &pause, Some("w1"), Duration::from_secs(10))
            .await
            .expect("send");
        let request = worker.await.expect("worker");
        assert_eq!(
            (request.command.as_str(), &request.args),
            ("pause", &json!({"queue": "q"}))
        );
        assert_eq!(
            got.by_worker(),
            json!({"w1": {"paused": "q"}})
                .as_object()
                .cloned()
                .expect("map")
        );
    }

    #[tokio::test]
    async fn no_worker_is_an_empty_answer() {
        let adapters = memory("control-none").await;
        let got = send(
            &adapters,
            &WorkerCommand::Ping,
            None,
            Duration::from_millis(50),
        )
        .await
        .expect("send");
        assert!(got.replies.is_empty());
    }
}
