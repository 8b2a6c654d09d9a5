//! `stem schedule list|show|apply|delete|enable|disable|dry-run`: the schedule store from the
//! command line (see [`crate::ops::schedules`]). `apply FILE` reads `[schedules.NAME]` tables,
//! checks their tasks against the manifest and refuses the whole file on the first problem, in
//! one line naming the schedule and the field.

use super::conn::ConnArgs;
use super::dlq::confirm;
use super::output::print_json;
use super::{CliError, CliResult};
use crate::ops::enqueue::find_manifest;
use crate::ops::schedules::{self as ops, ScheduleView};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use stem_protocol::now_ms;
use stem_protocol::schedule::{parse_cron, parse_time, parse_timezone, Spec};

#[derive(Args)]
pub struct ScheduleCmd {
    #[command(subcommand)]
    pub command: ScheduleSub,
    /// The manifest whose tasks schedules may name (default: ./stem.toml if present).
    #[arg(long, env = "STEM_MANIFEST", global = true)]
    pub manifest: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum ScheduleSub {
    /// Every schedule with its last and next fire.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One schedule in full.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Create and update the schedules of FILE (`[schedules.NAME]` tables).
    Apply {
        file: PathBuf,
        /// Also delete stored schedules that FILE does not name.
        #[arg(long)]
        prune: bool,
        /// Say what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete a schedule.
    Delete {
        id: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Enable a schedule (fires missed while disabled are not caught up).
    Enable {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Disable a schedule.
    Disable {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Print the next fire times, one RFC 3339 time per line.
    DryRun(DryRunArgs),
}

#[derive(Args)]
pub struct DryRunArgs {
    /// A cron expression (5 fields, or 6 with seconds first).
    #[arg(long, conflicts_with_all = ["every", "id"])]
    pub cron: Option<String>,
    /// The cron expression's IANA time zone.
    #[arg(long, default_value = "UTC", requires = "cron")]
    pub timezone: String,
    /// An interval, aligned to --from.
    #[arg(long, conflicts_with = "id")]
    pub every: Option<String>,
    /// A stored schedule.
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long, default_value_t = 5)]
    pub count: usize,
    /// Start here (RFC 3339; default: now).
    #[arg(long)]
    pub from: Option<String>,
    /// A JSON array of RFC 3339 strings.
    #[arg(long)]
    pub json: bool,
}

fn print_view(v: &ScheduleView) {
    let state = if v.enabled { "enabled" } else { "DISABLED" };
    println!(
        "{:<20} {:<16} {:<8} {}  last={} next={} runs={}{}",
        v.id,
        v.task,
        state,
        v.when,
        v.last_fire.as_deref().unwrap_or("-"),
        v.next_fire.as_deref().unwrap_or("-"),
        v.run_count,
        v.last_error
            .as_deref()
            .map(|e| format!(" error={e}"))
            .unwrap_or_default()
    );
}

fn print_one(v: &ScheduleView, json: bool) -> CliResult {
    if json {
        print_json(v)?;
    } else {
        print_view(v);
    }
    Ok(())
}

pub async fn run(conn: &ConnArgs, cmd: ScheduleCmd) -> CliResult {
    let manifest = find_manifest(cmd.manifest.as_deref())?;
    let settings = manifest.as_ref().map(|m| m.manifest.stem.clone());
    if let ScheduleSub::DryRun(args) = &cmd.command {
        if args.id.is_none() {
            return dry_run(args, 0);
        }
    }
    if let ScheduleSub::Apply { file, .. } = &cmd.command {
        // Refuse a bad file before connecting to anything.
        ops::load_file(file, manifest.as_ref())?;
    }
    let adapters = conn.connect(settings.as_ref()).await?;
    match cmd.command {
        ScheduleSub::List { json } => {
            let all = ops::list(&adapters).await?;
            if json {
                print_json(&all)?;
            } else if all.is_empty() {
                println!("no schedules");
            } else {
                all.iter().for_each(print_view);
            }
        }
        ScheduleSub::Show { id, json } => print_one(&ops::show(&adapters, &id).await?, json)?,
        ScheduleSub::Apply {
            file,
            prune,
            dry_run,
            json,
        } => {
            let schedules = ops::load_file(&file, manifest.as_ref())?;
            let done = ops::apply(&adapters, &schedules, prune, dry_run).await?;
            if json {
                print_json(&done)?;
            } else {
                let verb = if dry_run { "would be " } else { "" };
                for (what, ids) in [
                    ("created", &done.created),
                    ("updated", &done.updated),
                    ("unchanged", &done.unchanged),
                    ("pruned", &done.pruned),
                ] {
                    if !ids.is_empty() {
                        println!("{verb}{what}: {}", ids.join(", "));
                    }
                }
            }
        }
        ScheduleSub::Delete { id, yes, json } => {
            ops::delete(&adapters, &id, true).await?;
            confirm(yes, &format!("delete schedule {id:?}?"))?;
            ops::delete(&adapters, &id, false).await?;
            if json {
                print_json(&serde_json::json!({ "deleted": id }))?;
            } else {
                println!("deleted {id}");
            }
        }
        ScheduleSub::Enable { id, json } => {
            print_one(&ops::set_enabled(&adapters, &id, true).await?, json)?
        }
        ScheduleSub::Disable { id, json } => {
            print_one(&ops::set_enabled(&adapters, &id, false).await?, json)?
        }
        ScheduleSub::DryRun(args) => {
            let id = args.id.clone().unwrap_or_default();
            let stored = ops::show(&adapters, &id).await?;
            return print_times(
                &args,
                ops::dry_run(
                    &stored.schedule.spec,
                    stored.schedule.since,
                    start(&args)?,
                    args.count,
                )?,
            );
        }
    }
    Ok(())
}

fn start(args: &DryRunArgs) -> CliResult<i64> {
    match &args.from {
        Some(t) => parse_time(t).map_err(|e| CliError::usage(format!("--from: {e}"))),
        None => Ok(now_ms()),
    }
}

/// `dry-run --cron/--every`: no store needed.
fn dry_run(args: &DryRunArgs, _since: i64) -> CliResult {
    let from = start(args)?;
    let spec = match (&args.cron, &args.every) {
        (Some(expr), _) => {
            parse_cron(expr).map_err(|e| CliError::usage(format!("--cron: {e}")))?;
            parse_timezone(&args.timezone)
                .map_err(|e| CliError::usage(format!("--timezone: {e}")))?;
            Spec::Cron {
                expr: expr.clone(),
                timezone: args.timezone.clone(),
            }
        }
        (None, Some(every)) => {
            let d = stem_protocol::duration::parse_duration(every)
                .map_err(|e| CliError::usage(format!("--every: {e}")))?;
            if d.is_zero() {
                return Err(CliError::usage("--every must be longer than 0"));
            }
            Spec::Every {
                every_ms: d.as_millis() as u64,
                anchor: Some(from),
            }
        }
        (None, None) => return Err(CliError::usage("dry-run needs --cron, --every or --id")),
    };
    print_times(args, ops::dry_run(&spec, from, from, args.count)?)
}

fn print_times(args: &DryRunArgs, times: Vec<String>) -> CliResult {
    if args.json {
        print_json(&times)?;
    } else {
        for t in times {
            println!("{t}");
        }
    }
    Ok(())
}
