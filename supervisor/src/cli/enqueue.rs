//! `stem enqueue TASK`: publish a task (routed by the manifest when one is at hand), print its
//! id, and with `--wait` its outcome. The envelope is built and checked by
//! [`crate::ops::enqueue`]; `--stdin` (one task spec a line) is read in the `stdin` module.

use super::conn::ConnArgs;
use super::output::print_json;
use super::{CliError, CliResult};
use crate::ops::enqueue::{self as ops, EnqueueOptions, Start};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

mod stdin;

#[derive(Args)]
pub struct EnqueueArgs {
    /// The task name (as in the manifest).
    #[arg(required_unless_present = "stdin")]
    pub task: Option<String>,
    /// Read tasks from stdin instead, one JSON spec per line ({"task": NAME, "args": [..], ..});
    /// prints one id per line (with --json, {"count", "ids"}). All are checked before any is sent.
    #[arg(long, conflicts_with_all = ["task", "wait", "repeat"])]
    pub stdin: bool,
    /// Positional arguments, a JSON array; `@FILE` reads it from a file, `@-` from stdin (for
    /// payloads too big for a command line).
    #[arg(long, default_value = "[]")]
    pub args: String,
    /// Keyword arguments, a JSON object; `@FILE` or `@-` as for --args.
    #[arg(long, default_value = "{}")]
    pub kwargs: String,
    /// Queue (default: the manifest's queue for the task, else `default`).
    #[arg(long)]
    pub queue: Option<String>,
    /// Run no sooner than this long from now: `500ms`, `3s`, `2m`, a bare number of seconds.
    #[arg(long, conflicts_with = "eta", value_parser = parse_countdown, allow_hyphen_values = true)]
    pub countdown: Option<Duration>,
    /// Run no sooner than this time: RFC 3339 (`2026-12-01T10:00:00Z`), epoch milliseconds, or
    /// epoch seconds with a decimal point.
    #[arg(long, allow_negative_numbers = true)]
    pub eta: Option<String>,
    /// 0 (lowest, the default) to 9 (highest).
    #[arg(long, default_value_t = 0, value_parser = parse_priority, allow_negative_numbers = true)]
    pub priority: u8,
    /// Override the manifest's max_retries for this task.
    #[arg(long)]
    pub max_retries: Option<u32>,
    /// This task's hard time limit (`30s`, `2m`, a bare number of seconds); it may only lower
    /// the manifest's `time_limit`.
    #[arg(long, value_name = "DURATION")]
    pub time_limit: Option<String>,
    /// This task's soft time limit; it may only lower the manifest's `soft_time_limit`.
    #[arg(long, value_name = "DURATION")]
    pub soft_time_limit: Option<String>,
    /// Keep no record of a success (for high-volume tasks); failures are recorded.
    #[arg(long, conflicts_with = "wait")]
    pub ignore_result: bool,
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
    /// The fairness key (e.g. a tenant): keys in a queue are served round-robin (default: the
    /// manifest's fair_key path).
    #[arg(long, value_name = "KEY")]
    pub fair_key: Option<String>,
    /// The fairness key's weight, 1 to 100 (a key of weight 3 gets three turns to one).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub fair_weight: Option<u32>,
    /// Record the task `expired`, unrun, if no worker started it by then: a duration (30s, 2m)
    /// or a time (RFC 3339 or epoch ms). Default: the manifest's `expires`.
    #[arg(long, value_name = "DURATION|TIME")]
    pub expires: Option<String>,
    /// Wait for the outcome; exit non-zero when the task failed.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this long (`500ms`, `3s`, `2m`, a bare number of seconds).
    #[arg(long, value_parser = super::worker::parse_duration, allow_negative_numbers = true)]
    pub timeout: Option<Duration>,
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

/// `--args`/`--kwargs`: the JSON text itself, or `@FILE` / `@-` (stdin) holding it.
fn parse_json<T: serde::de::DeserializeOwned>(flag: &str, text: &str, what: &str) -> CliResult<T> {
    let (source, body) = match text.strip_prefix('@') {
        Some("-") => {
            let mut body = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut body)
                .map_err(|e| CliError::failed(format!("--{flag} @-: cannot read stdin: {e}")))?;
            ("stdin".to_string(), body)
        }
        Some(path) => {
            let body = std::fs::read_to_string(path).map_err(|e| {
                CliError::usage(format!("--{flag} @{path}: cannot read {path}: {e}"))
            })?;
            (path.to_string(), body)
        }
        None => {
            return serde_json::from_str(text).map_err(|e| {
                CliError::usage(format!("--{flag} must be {what}: {e} (got {})", clip(text)))
            })
        }
    };
    serde_json::from_str(&body)
        .map_err(|e| CliError::usage(format!("--{flag}: {source} must hold {what}: {e}")))
}

/// The start of a long value, for messages.
fn clip(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{:?}… ({} bytes)", &text[..i], text.len()),
        None => format!("{text:?}"),
    }
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

/// `--countdown`: the one duration syntax, refused when negative or beyond [`ops::MAX_DELAY`].
fn parse_countdown(s: &str) -> Result<Duration, String> {
    if s.trim_start().starts_with('-') {
        return Err(format!("a countdown cannot be negative, got {s:?}"));
    }
    let d = stem_protocol::duration::parse_duration(s)?;
    ops::check_delay(d)?;
    Ok(d)
}

/// `--priority`: 0 to 9, never wrapped or clamped silently.
fn parse_priority(s: &str) -> Result<u8, String> {
    s.trim()
        .parse::<u8>()
        .ok()
        .filter(|p| *p <= stem_protocol::envelope::MAX_PRIORITY)
        .ok_or_else(|| {
            format!("a priority is an integer from 0 (lowest) to 9 (highest), got {s:?}")
        })
}

fn parse_start(countdown: Option<Duration>, eta: Option<&str>) -> CliResult<Start> {
    match (countdown, eta) {
        (Some(d), _) => Ok(Start::After(d)),
        (None, Some(t)) => parse_eta(t).map(Start::At),
        (None, None) => Ok(Start::Now),
    }
}

/// `--eta`: RFC 3339, epoch milliseconds, or epoch seconds (with a decimal point, or too small
/// to be ms).
fn parse_eta(t: &str) -> CliResult<i64> {
    let bad = |why: String| CliError::usage(format!("--eta: {why}"));
    if t.contains('-') && t.contains(':') {
        return crate::ops::time::parse_rfc3339(t).map_err(bad);
    }
    let n: f64 = t
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| {
            bad(format!(
                "expected an RFC 3339 time like \"2026-12-01T10:00:00Z\", epoch milliseconds or seconds, got {t:?}"
            ))
        })?;
    let ms = if t.contains('.') || n < 1e11 {
        n * 1000.0
    } else {
        n
    };
    if ms > i64::MAX as f64 {
        return Err(bad(format!("{t:?} is too far away")));
    }
    Ok(ms as i64)
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

pub async fn run(conn: &ConnArgs, a: EnqueueArgs) -> CliResult {
    if a.stdin {
        return stdin::run(conn, &a).await;
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
        overrides: crate::ops::overrides::Overrides {
            time_limit: a
                .time_limit
                .as_deref()
                .map(|t| parse_duration_flag("time-limit", t))
                .transpose()?,
            soft_time_limit: a
                .soft_time_limit
                .as_deref()
                .map(|t| parse_duration_flag("soft-time-limit", t))
                .transpose()?,
            ignore_result: a.ignore_result,
        },
        fair_key: a.fair_key.clone(),
        fair_weight: a.fair_weight,
        task: a.task.clone().unwrap_or_default(),
    };
    if options.unique_for.is_some() && options.unique_key.is_none() {
        return Err(CliError::usage(
            "--unique-for needs --unique-key (or set unique_for in the manifest to dedup by arguments)",
        ));
    }
    if let crate::ops::overrides::Overrides {
        time_limit: Some(hard),
        soft_time_limit: Some(soft),
        ..
    } = options.overrides
    {
        if soft >= hard {
            return Err(CliError::usage(format!(
                "--soft-time-limit ({soft:?}) must be shorter than --time-limit ({hard:?})"
            )));
        }
    }
    let manifest = ops::find_manifest(a.manifest.as_deref())?;
    let env = ops::envelope(&options, manifest.as_ref())?;
    if let Some(eta) = env.eta.filter(|_| matches!(options.start, Start::At(_))) {
        if eta < stem_protocol::now_ms() {
            eprintln!(
                "note: --eta {} is in the past; the task runs as soon as a worker is free",
                crate::ops::time::format_rfc3339(eta)
            );
        }
    }
    let settings = manifest.as_ref().map(|m| m.manifest.stem.clone());
    let adapters = conn.connect(settings.as_ref()).await?;
    // Countdowns and expiries run on the store's clock: measure it, then compute them again.
    let env = match crate::ops::time::clock_skew(adapters.broker.as_ref()).await {
        Ok(_) => ops::envelope(&options, manifest.as_ref())?,
        Err(_) => env,
    };
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
    let sent = ops::publish(&adapters, manifest.as_ref(), &env).await?;
    if sent.duplicate && !a.json {
        eprintln!(
            "duplicate: task {} is already {} (nothing published)",
            sent.id, sent.state
        );
    }
    if a.wait {
        warn_without_consumer(&adapters, &sent.queue).await;
    }
    if !a.wait {
        if a.json {
            print_json(&sent)?;
        } else {
            println!("{}", sent.id);
        }
        return Ok(());
    }
    super::result::wait_and_print(&adapters, &sent.id, a.timeout, a.json).await
}

/// Says at once when no live worker (by heartbeat) consumes `queue`: the wait goes on, but
/// the user knows why nothing happens.
async fn warn_without_consumer(adapters: &stem_adapters::Adapters, queue: &str) {
    let Ok(workers) = adapters.control.workers().await else {
        return;
    };
    let now = stem_protocol::now_ms();
    let lapse = crate::ops::control::LIVE_LAPSE;
    let live = workers
        .iter()
        .filter(|w| !crate::ops::workers::is_lapsed(w.at, now, lapse));
    if !live.clone().any(|w| w.queues.iter().any(|q| q == queue)) {
        let others: Vec<String> = live.map(|w| w.worker.clone()).collect();
        let who = if others.is_empty() {
            "no worker is live".to_string()
        } else {
            format!("live workers ({}) consume other queues", others.join(", "))
        };
        eprintln!("note: no live worker consumes queue {queue:?} ({who}); waiting anyway");
    }
}
