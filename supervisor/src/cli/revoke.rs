//! `stem revoke ID [--terminate]`: store a revocation (workers skip the task, also those started
//! later) and tell live workers at once; with `--terminate` the worker running it stops it.

use super::conn::ConnArgs;
use super::output::print_json;
use super::CliResult;
use crate::ops::revoke::{self, RevokeRequest};
use clap::Args;
use std::time::Duration;
use stem_adapters::Adapters;

#[derive(Args)]
pub struct RevokeArgs {
    pub id: String,
    /// Also stop the task if it is running: TERM to its process group, then KILL.
    #[arg(long)]
    pub terminate: bool,
    /// Why (kept with the revocation).
    #[arg(long)]
    pub reason: Option<String>,
    /// How long the revocation is kept, e.g. 1d.
    #[arg(long, default_value = "1d", value_parser = super::worker::parse_duration)]
    pub ttl: Duration,
    /// Store the revocation even when no such task is known (for a task not yet published).
    #[arg(long)]
    pub force: bool,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(conn: &ConnArgs, a: RevokeArgs) -> CliResult {
    let adapters = conn.connect(None).await?;
    let request = RevokeRequest {
        id: a.id,
        terminate: a.terminate,
        reason: a.reason,
        ttl: a.ttl,
        force: a.force,
    };
    revoke_and_print(&adapters, &request, a.json).await
}

/// Revokes and prints where the task was running.
pub async fn revoke_and_print(
    adapters: &Adapters,
    request: &RevokeRequest,
    as_json: bool,
) -> CliResult {
    let revoked = revoke::revoke(adapters, request).await?;
    let id = &revoked.id;
    if as_json {
        print_json(&revoked)?;
    } else if !revoked.known {
        println!("revoked {id}");
        eprintln!(
            "note: no task {id} is known (no record, not in any queue): the revocation is \
             stored anyway (--force, for {}) and applies if such a task is published and runs",
            humantime::format_duration(request.ttl)
        );
    } else if revoked.running_on.is_empty() {
        println!(
            "revoked {id} ({} live worker(s) told; not running anywhere)",
            revoked.workers_told
        );
    } else {
        println!(
            "revoked {id}; running on {}{}",
            revoked.running_on.join(", "),
            if revoked.terminate {
                " — terminating"
            } else {
                " (not terminated: use --terminate)"
            }
        );
    }
    Ok(())
}
