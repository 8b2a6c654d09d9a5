//! `stem enqueue TASK`: publish a task (routed by the manifest when one is at hand), print its
//! id, and with `--wait` its outcome. The envelope is built and checked by
//! [`crate::ops::enqueue`].

use super::conn::ConnArgs;
use super::output::print_json;
use super::{CliError, CliResult};
use crate::ops::enqueue::{self as ops, EnqueueOptions, Start};
use crate::ops::specs;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct EnqueueArgs {
    /// The task name (as in the manifest).
    #[arg(required_unless_present = "stdin")]
    pub task: Option<String>,
    /// Read tasks from stdin instead, one JSON spec per line ({"task": NAME, "args": [..], ..});
    /// prints one id per line (with --json, {"count", "ids"}). All are checked before any is sent.
    #[arg(long, conflicts_with_all = ["task", "wait", "repeat"])]
    pub stdin: bool,
    /// Positional arguments, a JSON array.
    #[arg(long, default_value = "[]")]
    pub args: String,
    /// Keyword arguments, a JSON object.
    #[arg(long, default_value = "{}")]
    pub kwargs: String,
    /// Queue (default: the manifest's queue for the task, else `default`).
    #[arg(long)]
    pub queue: Option<String>,
    /// Run no sooner than this many seconds from now.
    #[arg(long, conflicts_with = "eta")]
    pub countdown: Option<f64>,
    /// Run no sooner than this time: epoch milliseconds, or seconds with a decimal point.
    #[arg(long)]
    pub eta: Option<String>,
    /// 0 (lowest, the default) to 9 (highest).
    #[arg(long, default_value_t = 0)]
    pub priority: u8,
    /// Override the manifest's max_retries for this task.
    #[arg(long)]
    pub max_retries: Option<u32>,
    /// A header, KEY=VALUE (repeatable).
    #[arg(long = "header", value_name = "KEY=VALUE")]
    pub headers: Vec<String>,
    /// Use this task id instead of a fresh one; while a task with this id is live, enqueueing it
    /// again publishes nothing and prints the existing task (with --json, "duplicate": true).
    #[arg(long)]
    pub id: Option<String>,
    /// Publish nothing while a task of this name with this key is live (or, with --unique-for or
    /// the manifest's unique_for, for that window even after it finished).
    #[arg(long, value_name = "KEY")]
    pub unique_key: Option<String>,
    /// The dedup window for --unique-key (default: the manifest's unique_for), e.g. 10m.
    #[arg(long, value_name = "DURATION")]
    pub unique_for: Option<String>,
    /// Record the task `expired`, unrun, if no worker started it by then: a duration (30s, 2m)
    /// or a time (RFC 3339 or epoch ms). Default: the manifest's `expires`.
    #[arg(long, value_name = "DURATION|TIME")]
    pub expires: Option<String>,
    /// Wait for the outcome; exit non-zero when the task failed.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds.
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Publish this many copies in batches (for load tests); prints the publish rate.
    #[arg(long, default_value_t = 1, hide_short_help = true)]
    pub repeat: usize,
    /// The manifest used for routing and to refuse unknown task names (default: ./stem.toml if present).
    #[arg(long, env = "STEM_MANIFEST")]
    pub manifest: Option<PathBuf>,
}

fn parse_json<T: serde::de::DeserializeOwned>(flag: &str, text: &str, what: &str) -> CliResult<T> {
    serde_json::from_str(text)
        .map_err(|e| CliError::usage(format!("--{flag} must be {what}: {e} (got {text:?})")))
}

fn parse_headers(headers: &[String]) -> CliResult<BTreeMap<String, String>> {
    headers
        .iter()
        .map(|h| {
            h.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| CliError::usage(format!("--header must be KEY=VALUE, got {h:?}")))
        })
        .collect()
}

fn parse_start(countdown: Option<f64>, eta: Option<&str>) -> CliResult<Start> {
    match (countdown, eta) {
        (Some(s), _) => Duration::try_from_secs_f64(s)
            .map(Start::After)
            .map_err(|_| CliError::usage(format!("--countdown must be >= 0, got {s}"))),
        (None, Some(t)) => parse_eta(t).map(Start::At),
        (None, None) => Ok(Start::Now),
    }
}

/// `--eta`: epoch milliseconds, or epoch seconds (with a decimal point, or too small to be ms).
fn parse_eta(t: &str) -> CliResult<i64> {
    let n: f64 = t.parse().map_err(|_| {
        CliError::usage(format!(
            "--eta must be epoch milliseconds or seconds, got {t:?}"
        ))
    })?;
    Ok(if t.contains('.') || n < 1e11 {
        (n * 1000.0) as i64
    } else {
        n as i64
    })
}

fn parse_duration_flag(flag: &str, text: &str) -> CliResult<Duration> {
    stem_protocol::duration::parse_duration(text)
        .map_err(|e| CliError::usage(format!("--{flag}: {e}")))
}

/// `--expires`: a duration from now, or a time (RFC 3339 or epoch milliseconds).
fn parse_expires(text: &str) -> CliResult<Start> {
    let epoch_ms = text.parse::<i64>().ok().filter(|n| *n > 100_000_000_000);
    if let (None, Ok(d)) = (epoch_ms, stem_protocol::duration::parse_duration(text)) {
        if d.is_zero() {
            return Err(CliError::usage("--expires must be later than now, got 0"));
        }
        return Ok(Start::After(d));
    }
    let at = crate::ops::time::parse_rfc3339(text)
        .or_else(|_| text.parse::<i64>().map_err(|_| ()))
        .map_err(|_| {
            CliError::usage(format!(
                "--expires must be a duration (30s, 2m) or a time (RFC 3339 or epoch ms), got {text:?}"
            ))
        })?;
    if at <= stem_protocol::now_ms() {
        return Err(CliError::usage(format!(
            "--expires {text:?} is in the past"
        )));
    }
    Ok(Start::At(at))
}

/// `--timeout` in seconds; a negative one is no time at all, one too large is no limit.
pub fn parse_timeout(secs: Option<f64>) -> Option<Duration> {
    secs.and_then(|t| Duration::try_from_secs_f64(t.max(0.0)).ok())
}

/// `--stdin`: every line a task spec, checked whole, then published in batches.
async fn from_stdin(conn: &ConnArgs, a: &EnqueueArgs) -> CliResult {
    use std::io::Read;
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| CliError::failed(format!("cannot read stdin: {e}")))?;
    let manifest = ops::find_manifest(a.manifest.as_deref())?;
    let mut envelopes = Vec::new();
    for (n, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let spec: serde_json::Value = serde_json::from_slice(line)
            .map_err(|e| CliError::usage(format!("stdin line {}: malformed JSON: {e}", n + 1)))?;
        let env = specs::options(&spec)
            .and_then(|o| ops::envelope(&o, manifest.as_ref()))
            .map_err(|e| CliError::usage(format!("stdin line {}: {e}", n + 1)))?;
        envelopes.push(env);
    }
    let settings = manifest.as_ref().map(|m| m.manifest.stem.clone());
    let adapters = conn.connect(settings.as_ref()).await?;
    let mut ids = Vec::with_capacity(envelopes.len());
    for batch in envelopes.chunks(specs::MAX_BATCH) {
        for sent in specs::publish_all(&adapters, batch).await? {
            if !a.json {
                println!("{}", sent.id);
            }
            ids.push(sent.id);
        }
    }
    if a.json {
        print_json(&serde_json::json!({"count": ids.len(), "ids": ids}))?;
    }
    Ok(())
}

pub async fn run(conn: &ConnArgs, a: EnqueueArgs) -> CliResult {
    if a.stdin {
        return from_stdin(conn, &a).await;
    }
    let options = EnqueueOptions {
        args: parse_json("args", &a.args, "a JSON array")?,
        kwargs: parse_json("kwargs", &a.kwargs, "a JSON object")?,
        headers: parse_headers(&a.headers)?,
        start: parse_start(a.countdown, a.eta.as_deref())?,
        queue: a.queue.clone(),
        priority: a.priority,
        max_retries: a.max_retries,
        id: a.id.clone(),
        unique_key: a.unique_key.clone(),
        unique_for: a
            .unique_for
            .as_deref()
            .map(|t| parse_duration_flag("unique-for", t))
            .transpose()?,
        expires: a.expires.as_deref().map(parse_expires).transpose()?,
        task: a.task.clone().unwrap_or_default(),
    };
    if options.unique_for.is_some() && options.unique_key.is_none() {
        return Err(CliError::usage(
            "--unique-for needs --unique-key (or set unique_for in the manifest to dedup by arguments)",
        ));
    }
    let manifest = ops::find_manifest(a.manifest.as_deref())?;
    let env = ops::envelope(&options, manifest.as_ref())?;
    let settings = manifest.as_ref().map(|m| m.manifest.stem.clone());
    let adapters = conn.connect(settings.as_ref()).await?;
    if a.repeat > 1 {
        let done = ops::publish_copies(&adapters, &env, a.repeat).await?;
        if a.json {
            print_json(&done)?;
        } else {
            println!(
                "published {} tasks in {:.3}s ({:.0}/s)",
                done.published, done.seconds, done.per_second
            );
        }
        return Ok(());
    }
    let sent = ops::publish(&adapters, &env).await?;
    if sent.duplicate && !a.json {
        eprintln!(
            "duplicate: task {} is already {} (nothing published)",
            sent.id, sent.state
        );
    }
    if !a.wait {
        if a.json {
            print_json(&sent)?;
        } else {
            println!("{}", sent.id);
        }
        return Ok(());
    }
    super::result::wait_and_print(&adapters, &sent.id, parse_timeout(a.timeout), a.json).await
}
