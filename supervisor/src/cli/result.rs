//! `stem result ID`: a task's state, result or error (with traceback); `--wait` blocks until it
//! finishes, woken by the backend rather than polling.

use super::conn::ConnArgs;
use super::enqueue::{outcome_code, wait_record};
use super::output::{pending_json, print_record, record_json};
use super::{CliError, CliResult};
use clap::Args;
use stem_adapters::Adapters;

#[derive(Args)]
pub struct ResultArgs {
    pub id: String,
    /// Wait until the task finishes; exit non-zero when it failed.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds.
    #[arg(long)]
    pub timeout: Option<f64>,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(conn: &ConnArgs, a: ResultArgs) -> CliResult {
    let adapters = conn.connect(None).await?;
    if a.wait {
        return wait_and_print(&adapters, &a.id, a.timeout, a.json).await;
    }
    match adapters.backend.get(&a.id).await? {
        Some(record) => {
            if a.json {
                println!("{}", record_json(&record));
            } else {
                print_record(&record);
            }
        }
        None if a.json => println!("{}", pending_json(&a.id)),
        None => println!(
            "{}  pending  (no record yet: not started, unknown, or expired)",
            a.id
        ),
    }
    Ok(())
}

pub async fn wait_and_print(
    adapters: &Adapters,
    id: &str,
    timeout: Option<f64>,
    json: bool,
) -> CliResult {
    let record = wait_record(adapters, id, timeout).await?;
    match record {
        Some(r) => {
            if json {
                println!("{}", record_json(&r));
            } else {
                print_record(&r);
            }
            if r.state.is_terminal() {
                outcome_code(r.state)
            } else {
                Err(CliError::failed(format!(
                    "timed out waiting for {id} (state {})",
                    r.state
                )))
            }
        }
        None => {
            if json {
                println!("{}", pending_json(id));
            }
            Err(CliError::failed(format!(
                "timed out waiting for {id} (still pending: is a worker consuming its queue?)"
            )))
        }
    }
}
