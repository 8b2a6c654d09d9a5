//! `stem events [--follow]`: print task events (received, started, progress, retried,
//! succeeded, failed, revoked), one per line.

use super::conn::ConnArgs;
use super::CliResult;
use crate::ops::events::{self, EventFeed};
use clap::Args;
use stem_adapters::TaskEvent;

#[derive(Args)]
pub struct EventsArgs {
    /// Keep printing new events until interrupted.
    #[arg(long, short)]
    pub follow: bool,
    /// Start from the oldest kept event (default with --follow: only new ones).
    #[arg(long)]
    pub from_start: bool,
    /// At most this many events (without --follow: the newest ones, or the oldest with
    /// --from-start).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(conn: &ConnArgs, a: EventsArgs) -> CliResult {
    let adapters = conn.connect(None).await?;
    if !a.follow {
        let shown = if a.from_start {
            events::read(&adapters, a.limit).await?
        } else {
            events::newest(&adapters, a.limit).await?
        };
        for e in &shown {
            print_event(e, a.json)?;
        }
        return Ok(());
    }
    let mut feed = EventFeed::follow(&adapters, a.from_start, a.limit);
    loop {
        for e in &feed.next_page().await? {
            print_event(e, a.json)?;
        }
    }
}

fn print_event(e: &TaskEvent, json: bool) -> CliResult {
    if json {
        println!("{}", serde_json::to_string(e)?);
    } else {
        let data = if e.data.is_null() {
            String::new()
        } else {
            format!(" {}", e.data)
        };
        println!(
            "{}  {:<9} {}  {}  queue={} worker={}{data}",
            crate::ops::time::format_rfc3339(e.at),
            e.kind,
            e.task_id,
            e.name,
            e.queue,
            e.worker
        );
    }
    Ok(())
}
