//! `stem events [--follow]`: print task events (received, started, progress, retried,
//! succeeded, failed, revoked), one per line.

use super::conn::ConnArgs;
use super::CliResult;
use clap::Args;
use std::time::Duration;

#[derive(Args)]
pub struct EventsArgs {
    /// Keep printing new events until interrupted.
    #[arg(long, short)]
    pub follow: bool,
    /// Start from the oldest kept event (default with --follow: only new ones).
    #[arg(long)]
    pub from_start: bool,
    /// At most this many events (without --follow).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(conn: &ConnArgs, a: EventsArgs) -> CliResult {
    let adapters = conn.connect(None).await?;
    let mut cursor: Option<String> = if a.from_start || !a.follow {
        Some("0".into())
    } else {
        None
    };
    let mut printed = 0;
    loop {
        let wait = if a.follow {
            Duration::from_secs(5)
        } else {
            Duration::ZERO
        };
        let (events, next) = adapters
            .control
            .events(cursor.as_deref(), a.limit.min(1000), wait)
            .await?;
        cursor = Some(next);
        for e in &events {
            if a.json {
                println!("{}", serde_json::to_string(e)?);
            } else {
                let data = if e.data.is_null() {
                    String::new()
                } else {
                    format!(" {}", e.data)
                };
                println!(
                    "{}  {:<9} {}  {}  queue={} worker={}{data}",
                    e.at, e.kind, e.task_id, e.name, e.queue, e.worker
                );
            }
        }
        printed += events.len();
        if !a.follow && (events.is_empty() || printed >= a.limit) {
            return Ok(());
        }
    }
}
