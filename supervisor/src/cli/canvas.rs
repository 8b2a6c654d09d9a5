//! `stem canvas submit FILE|-` (a JSON canvas document; `--wait` for the final result) and
//! `stem canvas show ID`: parse, call [`crate::ops::canvas`], print.

use super::conn::ConnArgs;
use super::output::print_json;
use super::{CliError, CliResult};
use crate::ops::canvas::{self, CanvasView};
use crate::ops::enqueue::find_manifest;
use clap::{Args, Subcommand};
use std::io::Read;
use std::path::PathBuf;

#[derive(Args)]
pub struct CanvasCmd {
    #[command(subcommand)]
    pub command: CanvasCommand,
}

#[derive(Subcommand)]
pub enum CanvasCommand {
    /// Submit a canvas document (chain, group, chord, nested) from a file or `-` (stdin).
    Submit(SubmitArgs),
    /// Show every node of a canvas with its state, and the final result.
    Show(ShowArgs),
}

#[derive(Args)]
pub struct SubmitArgs {
    pub file: String,
    /// Check task names against this manifest (default: ./stem.toml when present).
    #[arg(long, short, env = "STEM_MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// Wait for the final result; exit non-zero unless the canvas succeeded.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this long (`500ms`, `3s`, `2m`, a bare number of seconds).
    #[arg(long, value_parser = super::worker::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    pub id: String,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(conn: &ConnArgs, cmd: CanvasCmd) -> CliResult {
    match cmd.command {
        CanvasCommand::Submit(a) => submit(conn, a).await,
        CanvasCommand::Show(a) => {
            let adapters = conn.connect(None).await?;
            let view = canvas::show(&adapters, &a.id).await?;
            print_view(&view, a.json)
        }
    }
}

async fn submit(conn: &ConnArgs, a: SubmitArgs) -> CliResult {
    let text = if a.file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::usage(format!("cannot read the canvas from stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(&a.file)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", a.file)))?
    };
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(format!(
            "{}: not JSON: {e}",
            if a.file == "-" { "stdin" } else { &a.file }
        ))
    })?;
    let manifest = find_manifest(a.manifest.as_deref())?;
    let settings = manifest.as_ref().map(|m| m.manifest.stem.clone());
    let adapters = conn.connect(settings.as_ref()).await?;
    let ttl = settings
        .as_ref()
        .and_then(|s| s.result_ttl)
        .unwrap_or(crate::worker::WorkerConfig::DEFAULT_RESULT_TTL);
    let submitted = canvas::submit(&adapters, &doc, manifest.as_ref(), ttl).await?;
    if !a.wait {
        if a.json {
            print_json(&submitted)?;
        } else {
            println!("{}", submitted.id);
        }
        return Ok(());
    }
    if !a.json {
        println!("{}", submitted.id);
    }
    let view = canvas::wait(&adapters, &submitted.id, a.timeout).await?;
    print_view(&view, a.json)?;
    match view.state.as_str() {
        "success" => Ok(()),
        "failure" | "revoked" => Err(CliError::failed(format!(
            "canvas {} ended in state {}{}",
            view.id,
            view.state,
            view.failed
                .as_ref()
                .map(|f| format!(": {f} failed"))
                .unwrap_or_default()
        ))),
        other => Err(CliError::failed(format!(
            "timed out waiting for canvas {} (state {other})",
            view.id
        ))),
    }
}

fn print_view(view: &CanvasView, json: bool) -> CliResult {
    if json {
        print_json(view)?;
        return Ok(());
    }
    println!("{}  {}", view.id, view.state);
    for n in &view.nodes {
        let path = if n.path.is_empty() { "-" } else { &n.path };
        println!("  {path}  {}  {}  {}", n.task, n.task_id, n.state);
        if let Some(e) = &n.error {
            println!("      error: {e}");
        }
    }
    println!("summary: {}", view.summary.line());
    if let Some(f) = &view.failed {
        println!("failed: {f}");
    }
    if let Some(r) = &view.result {
        println!("result: {r}");
    }
    Ok(())
}
