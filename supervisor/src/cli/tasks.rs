//! `stem tasks list`: the kept task records, newest first, by state, task, queue and age: the
//! listing the API serves at `GET /v1/tasks` ([`crate::ops::results::list`]).

use super::conn::ConnArgs;
use super::output::print_json;
use super::{CliError, CliResult};
use crate::ops::results;
use crate::ops::time::{format_rfc3339, parse_since};
use clap::{Args, Subcommand};
use stem_adapters::backend::{RecordCursor, MAX_LIST};
use stem_adapters::RecordFilter;
use stem_protocol::TaskState;

#[derive(Args)]
pub struct TasksCmd {
    #[command(subcommand)]
    pub sub: TasksSub,
}

#[derive(Subcommand)]
pub enum TasksSub {
    /// List task records (kept for the result TTL), newest first.
    List(ListArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// Only this state (pending, received, started, retry, success, failure, revoked, expired, skipped).
    #[arg(long)]
    pub state: Option<String>,
    /// Only this task name.
    #[arg(long)]
    pub task: Option<String>,
    #[arg(long)]
    pub queue: Option<String>,
    /// Only records updated since: a duration ago (1h, 2d) or an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many (0: every kept record), read a page at a time.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Continue after this place: the cursor a previous listing's last line gave.
    #[arg(long)]
    pub after: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(conn: &ConnArgs, cmd: TasksCmd) -> CliResult {
    let TasksSub::List(a) = cmd.sub;
    let state = a
        .state
        .as_deref()
        .map(|s| {
            TaskState::parse(s).ok_or_else(|| {
                CliError::usage(format!(
                    "--state: unknown state {s:?} (pending, received, started, retry, success, failure, revoked, expired, skipped)"
                ))
            })
        })
        .transpose()?;
    let since = a
        .since
        .as_deref()
        .map(parse_since)
        .transpose()
        .map_err(|e| CliError::usage(format!("--since: {e}")))?;
    let after = a
        .after
        .as_deref()
        .map(RecordCursor::parse)
        .transpose()
        .map_err(|e| CliError::usage(format!("--after: {e}")))?;
    let mut filter = RecordFilter {
        state,
        name: a.task,
        queue: a.queue,
        since,
        limit: MAX_LIST,
        after,
    };
    let adapters = conn.connect(None).await?;
    let want = if a.limit == 0 { usize::MAX } else { a.limit };
    let mut records = Vec::new();
    let mut next = None;
    while records.len() < want {
        filter.limit = (want - records.len()).min(MAX_LIST);
        let (page, more) = results::page(&adapters, &filter).await?;
        records.extend(page);
        next = more;
        match &next {
            Some(cursor) => filter.after = Some(cursor.clone()),
            None => break,
        }
    }
    if a.json {
        return Ok(print_json(&records)?);
    }
    if records.is_empty() {
        println!(
            "no task records{} (records are written when a task starts and kept for the result \
             TTL; `stem queue list` shows what waits in the queues)",
            if filter.state.is_some()
                || filter.name.is_some()
                || filter.queue.is_some()
                || filter.since.is_some()
            {
                " match"
            } else {
                " yet"
            }
        );
    }
    for r in &records {
        let error = r
            .error
            .as_ref()
            .map(|e| format!("  {}: {}", e.kind, e.message))
            .unwrap_or_default();
        println!(
            "{}  {}  {:<8} {}  {}  args={} kwargs={}{error}",
            format_rfc3339(r.updated_at),
            r.id,
            r.state.as_str(),
            r.name,
            r.queue,
            serde_json::Value::from(r.args.clone()),
            serde_json::Value::Object(r.kwargs.clone()),
        );
    }
    if let Some(cursor) = next {
        eprintln!("note: more records: continue with --after {cursor}");
    }
    Ok(())
}
