//! `stem wf start|show|ls|waiters|emit|cancel|rewind`: durable workflow runs from the command
//! line — parse, call [`crate::ops::workflows`], print (JSON with `--json`).

use super::conn::ConnArgs;
use super::output::print_json;
use super::{CliError, CliResult};
use crate::ops::enqueue::find_manifest;
use crate::ops::time::format_rfc3339;
use crate::ops::workflows::{self, RunView, StartRun};
use clap::{Args, Subcommand};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;
use stem_adapters::workflow::{RunFilter, RunState};

#[derive(Args)]
pub struct WfCmd {
    #[command(subcommand)]
    pub command: WfCommand,
}

#[derive(Subcommand)]
pub enum WfCommand {
    /// Start a run of a workflow the manifest declares; prints the run id.
    Start(StartArgs),
    /// Show a run: its state, result or error, and every step.
    Show(ShowArgs),
    /// List runs, newest first.
    Ls(LsArgs),
    /// List the runs waiting for events, by topic.
    Waiters(WaitersArgs),
    /// Emit an event: every run waiting on the topic resumes with it.
    Emit(EmitArgs),
    /// Cancel a run: it ends `cancelled`; a step running now is stopped.
    Cancel(RunArgs),
    /// Rewind a run to a step: that step and the ones after it run again.
    Rewind(RewindArgs),
}

#[derive(Args)]
pub struct StartArgs {
    pub workflow: String,
    /// Positional arguments, a JSON array.
    #[arg(long, default_value = "[]")]
    pub args: String,
    /// Keyword arguments, a JSON object.
    #[arg(long, default_value = "{}")]
    pub kwargs: String,
    /// The run's id: starting twice with one id starts one run.
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long, short, env = "STEM_MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// Wait for the run to end; exit non-zero unless it completed.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this long (`30s`, `5m`).
    #[arg(long, value_parser = super::worker::parse_duration)]
    pub timeout: Option<Duration>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    pub run: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct LsArgs {
    /// running, suspended, completed, failed, cancelled or timed_out.
    #[arg(long)]
    pub state: Option<String>,
    /// Only runs of this workflow.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct WaitersArgs {
    #[arg(long)]
    pub topic: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct EmitArgs {
    pub topic: String,
    /// The event's payload, any JSON (default null).
    #[arg(long, default_value = "null")]
    pub payload: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct RunArgs {
    pub run: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct RewindArgs {
    pub run: String,
    /// The step to run again from (its name).
    #[arg(long)]
    pub to: String,
    #[arg(long)]
    pub json: bool,
}

fn parse_json(flag: &str, text: &str) -> Result<Value, CliError> {
    serde_json::from_str(text).map_err(|e| CliError::usage(format!("--{flag}: not JSON: {e}")))
}

pub async fn run(conn: &ConnArgs, cmd: WfCmd) -> CliResult {
    match cmd.command {
        WfCommand::Start(a) => start(conn, a).await,
        WfCommand::Show(a) => {
            let adapters = conn.connect(None).await?;
            let view = workflows::show(&adapters, &a.run, true).await?;
            print_view(&view, a.json)
        }
        WfCommand::Ls(a) => {
            let state = match &a.state {
                Some(s) => Some(RunState::parse(s).ok_or_else(|| {
                    CliError::usage(format!(
                        "--state {s:?}: expected running, suspended, completed, failed, cancelled or timed_out"
                    ))
                })?),
                None => None,
            };
            let adapters = conn.connect(None).await?;
            let filter = RunFilter {
                state,
                workflow: a.name,
                before: None,
                limit: a.limit.max(1),
            };
            let runs = workflows::list(&adapters, &filter).await?;
            if a.json {
                return Ok(print_json(&runs)?);
            }
            if runs.is_empty() {
                println!("no runs");
            }
            for r in &runs {
                println!(
                    "{}  {:<10} {:<16} {}",
                    r.id,
                    r.state.as_str(),
                    r.workflow,
                    format_rfc3339(r.created_at)
                );
            }
            Ok(())
        }
        WfCommand::Waiters(a) => {
            let adapters = conn.connect(None).await?;
            let waiters = workflows::waiters(&adapters, a.topic.as_deref(), a.limit.max(1)).await?;
            if a.json {
                return Ok(print_json(&waiters)?);
            }
            if waiters.is_empty() {
                println!("no runs waiting");
            }
            for w in &waiters {
                let until = w
                    .deadline
                    .map(|d| format!(" until {}", format_rfc3339(d)))
                    .unwrap_or_default();
                println!("{}  run {} step {}{until}", w.topic, w.run, w.index);
            }
            Ok(())
        }
        WfCommand::Emit(a) => {
            let payload = parse_json("payload", &a.payload)?;
            let adapters = conn.connect(None).await?;
            let emitted = workflows::emit(&adapters, &a.topic, &payload).await?;
            if a.json {
                return Ok(print_json(&emitted)?);
            }
            println!("{}: resumed {} run(s)", emitted.topic, emitted.resumed);
            Ok(())
        }
        WfCommand::Cancel(a) => {
            let adapters = conn.connect(None).await?;
            let view = workflows::cancel(&adapters, &a.run).await?;
            print_view(&view, a.json)
        }
        WfCommand::Rewind(a) => {
            let adapters = conn.connect(None).await?;
            let view = workflows::rewind(&adapters, &a.run, &a.to).await?;
            print_view(&view, a.json)
        }
    }
}

async fn start(conn: &ConnArgs, a: StartArgs) -> CliResult {
    let args = match parse_json("args", &a.args)? {
        Value::Array(v) => v,
        _ => return Err(CliError::usage("--args: must be a JSON array")),
    };
    let kwargs: Map<String, Value> = match parse_json("kwargs", &a.kwargs)? {
        Value::Object(m) => m,
        _ => return Err(CliError::usage("--kwargs: must be a JSON object")),
    };
    let manifest = find_manifest(a.manifest.as_deref())?.ok_or_else(|| {
        CliError::usage(
            "no manifest: workflows are declared in stem.toml ([workflows.NAME]); pass --manifest",
        )
    })?;
    let adapters = conn.connect(Some(&manifest.manifest.stem)).await?;
    let start = StartRun {
        workflow: a.workflow,
        args,
        kwargs,
        id: a.id,
        ..StartRun::default()
    };
    let started = workflows::start(&adapters, &manifest, &start).await?;
    if !a.wait {
        if a.json {
            return Ok(print_json(&started)?);
        }
        println!("{}", started.run);
        return Ok(());
    }
    if !a.json {
        println!("{}", started.run);
    }
    let view = workflows::wait(&adapters, &started.run, a.timeout).await?;
    print_view(&view, a.json)?;
    match view.state {
        RunState::Completed => Ok(()),
        s if s.is_final() => Err(CliError::failed(format!("run {} ended {s}", view.id))),
        s => Err(CliError::failed(format!(
            "timed out waiting for run {} (state {s})",
            view.id
        ))),
    }
}

fn print_view(view: &RunView, json: bool) -> CliResult {
    if json {
        return Ok(print_json(view)?);
    }
    println!("run       {}", view.id);
    println!("workflow  {} (version {})", view.workflow, view.version);
    println!("state     {}", view.state);
    if let Some(r) = &view.result {
        println!("result    {r}");
    }
    if let Some(e) = &view.error {
        println!("error     {e}");
    }
    if let Some(w) = view.wake_at.filter(|_| view.state == RunState::Suspended) {
        println!("wakes     {}", format_rfc3339(w));
    }
    if let Some(u) = &view.unreadable {
        println!("note      {u}");
    }
    for s in view.steps.iter().flatten() {
        let mut line = format!(
            "  {:>3}  {:<20} {:<6} {:<9}",
            s.index,
            s.name,
            s.kind.as_str(),
            s.state.as_str()
        );
        if s.attempt > 1 {
            line.push_str(&format!(" attempt {}", s.attempt));
        }
        if let Some(r) = &s.result {
            line.push_str(&format!(" → {r}"));
        }
        if let Some(e) = &s.error {
            line.push_str(&format!(" ✗ {e}"));
        }
        if s.timed_out {
            line.push_str(" (timed out)");
        }
        if let (Some(w), stem_protocol::workflow::StepState::Waiting) = (s.wake_at, s.state) {
            line.push_str(&format!(" until {}", format_rfc3339(w)));
        }
        if let (Some(t), stem_protocol::workflow::StepState::Waiting) = (&s.topic, s.state) {
            line.push_str(&format!(" on {t}"));
        }
        println!("{line}");
    }
    Ok(())
}
