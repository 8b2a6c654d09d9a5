//! `stem dlq list|show|replay|purge`: the dead letters of a queue (see [`crate::ops::dlq`]).
//! Destructive commands ask here first, and refuse to guess when there is no terminal to ask on
//! (pass `--yes`).

use super::conn::ConnArgs;
use super::{CliError, CliResult};
use crate::ops::dlq::{self, ReplaySelection};
use clap::{Args, Subcommand};
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};
use stem_adapters::DeadLetter;

#[derive(Args)]
pub struct DlqCmd {
    #[command(subcommand)]
    pub command: DlqSub,
}

#[derive(Subcommand)]
pub enum DlqSub {
    /// List dead letters, oldest first.
    List {
        #[arg(long, default_value = "default")]
        queue: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Show one dead letter in full.
    Show {
        #[arg(long, default_value = "default")]
        queue: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Publish dead letters again (same id, attempt 1, replay count + 1).
    Replay {
        #[arg(long, default_value = "default")]
        queue: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Only this dead letter.
        #[arg(long)]
        id: Option<String>,
        /// Only letters that died at or after TIME (epoch ms, or a duration ago like 1h).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete every dead letter of a queue.
    Purge {
        #[arg(long, default_value = "default")]
        queue: String,
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(conn: &ConnArgs, cmd: DlqCmd) -> CliResult {
    let adapters = conn.connect(None).await?;
    match cmd.command {
        DlqSub::List { queue, limit, json } => {
            let letters = dlq::list(&adapters, &queue, limit).await?;
            if json {
                println!("{}", serde_json::to_string(&letters)?);
            } else if letters.is_empty() {
                println!("no dead letters in {queue:?}");
            } else {
                for l in &letters {
                    println!("{}", summary(l));
                }
            }
        }
        DlqSub::Show { queue, id, json } => {
            let letter = dlq::show(&adapters, &queue, &id).await?;
            if json {
                println!("{}", serde_json::to_string(&letter)?);
            } else {
                println!("{}", serde_json::to_string_pretty(&letter)?);
            }
        }
        DlqSub::Replay {
            queue,
            limit,
            id,
            since,
            dry_run,
            yes,
            json,
        } => {
            let selection = ReplaySelection {
                since: since.as_deref().map(parse_since).transpose()?,
                queue,
                limit,
                id,
            };
            let plan = dlq::plan_replay(&adapters, &selection).await?;
            let queue = &plan.queue;
            if dry_run {
                if json {
                    let ids =
                        |ls: &[DeadLetter]| ls.iter().map(|l| l.id.clone()).collect::<Vec<_>>();
                    println!(
                        "{}",
                        json!({"dry_run": true, "would_replay": ids(&plan.replayable), "not_replayable": ids(&plan.not_replayable)})
                    );
                } else {
                    for l in &plan.replayable {
                        println!("would replay {}", summary(l));
                    }
                    for l in &plan.not_replayable {
                        println!("cannot replay (malformed payload) {}", summary(l));
                    }
                }
                return Ok(());
            }
            if plan.replayable.is_empty() {
                if json {
                    println!("{}", json!({"replayed": []}));
                } else {
                    println!("nothing to replay in {queue:?}");
                }
                return Ok(());
            }
            confirm(
                yes,
                &format!(
                    "replay {} dead letter(s) of {queue:?}?",
                    plan.replayable.len()
                ),
            )?;
            // One at a time, so each replay is reported as it happens.
            let mut done = Vec::new();
            for letter in &plan.replayable {
                let Some(r) = dlq::replay_letter(&adapters, queue, letter).await? else {
                    continue;
                };
                if !json {
                    println!("replayed {} ({}, replay #{})", r.id, r.name, r.replay);
                }
                done.push(r.id);
            }
            if json {
                println!("{}", json!({"replayed": done}));
            }
        }
        DlqSub::Purge { queue, yes, json } => {
            let n = dlq::purge(&adapters, &queue, true).await?.count;
            if n == 0 && !json {
                println!("no dead letters in {queue:?}");
                return Ok(());
            }
            confirm(
                yes,
                &format!("delete {n} dead letter(s) of {queue:?} for good?"),
            )?;
            let purged = dlq::purge(&adapters, &queue, false).await?.count;
            if json {
                println!("{}", json!({"purged": purged}));
            } else {
                println!("purged {purged} dead letter(s) from {queue:?}");
            }
        }
    }
    Ok(())
}

fn summary(l: &DeadLetter) -> String {
    let name = l.envelope.as_ref().map(|e| e.name.as_str()).unwrap_or("?");
    let err = l
        .error
        .as_ref()
        .map(|e| format!("{}: {}", e.kind, e.message))
        .unwrap_or_default();
    let replays = if l.replay_count > 0 {
        format!(" replays={}", l.replay_count)
    } else {
        String::new()
    };
    format!(
        "{}  {name}  {}  {}{replays}  {err}",
        l.id,
        l.reason,
        crate::ops::time::format_rfc3339(l.dead_at)
    )
}

/// `--since`: a duration ago (`1h`, `30m`), an RFC 3339 time, or epoch milliseconds.
fn parse_since(s: &str) -> CliResult<i64> {
    if let Ok(ms) = s.trim().parse::<i64>() {
        if ms >= 100_000_000_000 {
            return Ok(ms);
        }
    }
    crate::ops::time::parse_since(s)
        .map_err(|e| CliError::usage(format!("--since: {e} (or epoch milliseconds)")))
}

/// Asks on the terminal unless `--yes`; with no terminal, refuses.
pub(crate) fn confirm(yes: bool, question: &str) -> CliResult {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "{question} — no terminal to ask on; pass --yes to proceed"
        )));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok();
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(CliError::failed("cancelled"))
    }
}
