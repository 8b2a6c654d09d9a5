//! `stem revoke ID [--terminate]`: store a revocation (workers skip the task, also those started
//! later) and tell live workers at once; with `--terminate` the worker running it stops it.

use super::conn::ConnArgs;
use super::CliResult;
use clap::Args;
use serde_json::json;
use std::time::Duration;
use stem_adapters::{Adapters, ControlRequest, Revocation};

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
    #[arg(long)]
    pub json: bool,
}

pub async fn run(conn: &ConnArgs, a: RevokeArgs) -> CliResult {
    let adapters = conn.connect(None).await?;
    revoke(
        &adapters,
        &a.id,
        a.terminate,
        a.reason.clone(),
        a.ttl,
        a.json,
    )
    .await
}

pub async fn revoke(
    adapters: &Adapters,
    id: &str,
    terminate: bool,
    reason: Option<String>,
    ttl: Duration,
    as_json: bool,
) -> CliResult {
    let now = stem_protocol::now_ms();
    adapters
        .revokes
        .revoke(&Revocation {
            id: id.to_string(),
            terminate,
            reason,
            revoked_at: now,
            expires_at: now + ttl.as_millis() as i64,
        })
        .await?;
    let request = ControlRequest {
        id: stem_protocol::new_task_id(),
        command: "revoke".into(),
        args: json!({"id": id, "terminate": terminate}),
        target: None,
        sent_at: now,
    };
    adapters.control.send(&request).await?;
    let replies = adapters
        .control
        .replies(&request.id, None, Duration::from_millis(1500))
        .await
        .unwrap_or_default();
    let running_on: Vec<&str> = replies
        .iter()
        .filter(|r| r.reply.get("running_here").and_then(|v| v.as_bool()) == Some(true))
        .map(|r| r.worker.as_str())
        .collect();
    if as_json {
        println!(
            "{}",
            json!({"id": id, "revoked": true, "terminate": terminate, "running_on": running_on, "workers_told": replies.len()})
        );
    } else if running_on.is_empty() {
        println!(
            "revoked {id} ({} live worker(s) told; not running anywhere)",
            replies.len()
        );
    } else {
        println!(
            "revoked {id}; running on {}{}",
            running_on.join(", "),
            if terminate {
                " — terminating"
            } else {
                " (not terminated: use --terminate)"
            }
        );
    }
    Ok(())
}
