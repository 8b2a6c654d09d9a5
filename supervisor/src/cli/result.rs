//! `stem result ID`: a task's state, result or error (with traceback); `--wait` blocks until it
//! finishes (see [`crate::ops::results`]) and exits non-zero unless it succeeded.

use super::conn::ConnArgs;
use super::output::{print_json, print_record};
use super::{CliError, CliResult};
use crate::ops::results::{self, TaskStatus, WaitOutcome};
use clap::Args;
use std::time::Duration;
use stem_adapters::Adapters;
use stem_protocol::TaskState;

#[derive(Args)]
pub struct ResultArgs {
    pub id: String,
    /// Wait until the task finishes; exit non-zero when it failed.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this long (`500ms`, `3s`, `2m`, a bare number of seconds).
    #[arg(long, value_parser = super::worker::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(conn: &ConnArgs, a: ResultArgs) -> CliResult {
    let adapters = conn.connect(None).await?;
    if a.wait {
        return wait_and_print(&adapters, &a.id, a.timeout, a.json).await;
    }
    let status = results::status_known(&adapters, &a.id).await?;
    match &status {
        _ if a.json => print_json(&status)?,
        TaskStatus::Recorded(record) => print_record(record),
        TaskStatus::Pending { id, .. } => println!("{id}  pending  (queued, no record yet)"),
        TaskStatus::Unknown { id, .. } => println!(
            "{id}  unknown  (no record, and no queue holds it: not enqueued in this store, a \
             canvas member not published yet, or its record expired)"
        ),
    }
    match status {
        TaskStatus::Unknown { id, .. } => Err(CliError::failed(format!("unknown task id {id:?}"))),
        _ => Ok(()),
    }
}

/// Waits for `id`, prints its record, and fails unless it succeeded in time.
pub async fn wait_and_print(
    adapters: &Adapters,
    id: &str,
    timeout: Option<Duration>,
    json: bool,
) -> CliResult {
    let outcome = results::wait(adapters, id, timeout).await?;
    match outcome.status() {
        status if json => print_json(&status)?,
        TaskStatus::Recorded(record) => print_record(&record),
        TaskStatus::Pending { .. } | TaskStatus::Unknown { .. } => {}
    }
    match outcome {
        WaitOutcome::Finished { record } if record.state == TaskState::Success => Ok(()),
        WaitOutcome::Finished { record } => Err(CliError::failed(format!(
            "task ended in state {}",
            record.state
        ))),
        WaitOutcome::TimedOut {
            record: Some(record),
            ..
        } => Err(CliError::failed(format!(
            "timed out waiting for {id} (state {})",
            record.state
        ))),
        WaitOutcome::TimedOut { record: None, .. } => Err(CliError::failed(format!(
            "timed out waiting for {id} (still pending: is a worker consuming its queue?)"
        ))),
    }
}
