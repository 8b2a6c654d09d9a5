//! `stem enqueue TASK`: publish a task (routed by the manifest when one is at hand), print its
//! id, and with `--wait` its outcome.

use super::conn::ConnArgs;
use super::{CliError, CliResult};
use crate::manifest::LoadedManifest;
use clap::Args;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use stem_protocol::{now_ms, TaskEnvelope, TaskState};

#[derive(Args)]
pub struct EnqueueArgs {
    /// The task name (as in the manifest).
    pub task: String,
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
    /// Use this task id instead of a fresh one.
    #[arg(long)]
    pub id: Option<String>,
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

fn load_manifest(path: Option<PathBuf>) -> CliResult<Option<LoadedManifest>> {
    let path = match path {
        Some(p) => p,
        None if std::path::Path::new("stem.toml").exists() => PathBuf::from("stem.toml"),
        None => return Ok(None),
    };
    LoadedManifest::load(&path)
        .map(Some)
        .map_err(|e| CliError::usage(e.to_string()))
}

pub async fn run(conn: &ConnArgs, a: EnqueueArgs) -> CliResult {
    let args: Vec<Value> = parse_json("args", &a.args, "a JSON array")?;
    let kwargs: Map<String, Value> = parse_json("kwargs", &a.kwargs, "a JSON object")?;
    let manifest = load_manifest(a.manifest.clone())?;
    let mut queue = a.queue.clone();
    if let Some(m) = &manifest {
        match m.effective(&a.task) {
            Some(t) => queue = queue.or(Some(t.queue)),
            None => {
                let known: Vec<&str> = m.manifest.tasks.keys().map(String::as_str).collect();
                return Err(CliError::usage(format!(
                    "unknown task {:?}: {} names {}",
                    a.task,
                    m.path.display(),
                    known.join(", ")
                )));
            }
        }
    }
    let mut env = TaskEnvelope::new(&a.task);
    env.args = args;
    env.kwargs = kwargs;
    env.queue = queue.unwrap_or_else(|| "default".into());
    env.priority = a.priority;
    env.max_retries = a.max_retries;
    if let Some(id) = &a.id {
        env.id = id.clone();
    }
    for h in &a.headers {
        let (k, v) = h
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--header must be KEY=VALUE, got {h:?}")))?;
        env.headers.insert(k.to_string(), v.to_string());
    }
    env.eta = match (&a.countdown, &a.eta) {
        (Some(s), _) if *s >= 0.0 => Some(now_ms() + (s * 1000.0) as i64),
        (Some(s), _) => {
            return Err(CliError::usage(format!(
                "--countdown must be >= 0, got {s}"
            )))
        }
        (None, Some(t)) => Some(parse_eta(t)?),
        (None, None) => None,
    };
    env.validate().map_err(CliError::usage)?;
    let settings = manifest.as_ref().map(|m| m.manifest.stem.clone());
    let adapters = conn.connect(settings.as_ref()).await?;
    if a.repeat > 1 {
        return publish_many(&adapters, &env, a.repeat, a.json).await;
    }
    adapters.broker.publish(std::slice::from_ref(&env)).await?;
    if !a.wait {
        if a.json {
            println!(
                "{}",
                json!({"id": env.id, "state": "pending", "queue": env.queue})
            );
        } else {
            println!("{}", env.id);
        }
        return Ok(());
    }
    super::result::wait_and_print(&adapters, &env.id, a.timeout, a.json).await
}

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

async fn publish_many(
    adapters: &stem_adapters::Adapters,
    template: &TaskEnvelope,
    n: usize,
    as_json: bool,
) -> CliResult {
    let started = Instant::now();
    let mut sent = 0;
    while sent < n {
        let batch: Vec<TaskEnvelope> = (0..(n - sent).min(1000))
            .map(|_| TaskEnvelope {
                id: stem_protocol::new_task_id(),
                created_at: now_ms(),
                ..template.clone()
            })
            .collect();
        adapters.broker.publish(&batch).await?;
        sent += batch.len();
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = n as f64 / secs.max(1e-9);
    if as_json {
        println!(
            "{}",
            json!({"published": n, "seconds": secs, "per_second": rate})
        );
    } else {
        println!("published {n} tasks in {secs:.3}s ({rate:.0}/s)");
    }
    Ok(())
}

/// Polls nothing itself: the backend's `wait` blocks on change notifications.
pub async fn wait_record(
    adapters: &stem_adapters::Adapters,
    id: &str,
    timeout: Option<f64>,
) -> CliResult<Option<stem_protocol::TaskRecord>> {
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
    loop {
        let chunk = match deadline {
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(30)),
            None => Duration::from_secs(30),
        };
        let record = adapters.backend.wait(id, chunk).await?;
        let done = record.as_ref().is_some_and(|r| r.state.is_terminal());
        let expired = deadline.is_some_and(|d| Instant::now() >= d);
        if done || expired {
            return Ok(record);
        }
    }
}

/// Exit status for a finished record.
pub fn outcome_code(state: TaskState) -> CliResult {
    match state {
        TaskState::Success => Ok(()),
        other => Err(CliError::failed(format!("task ended in state {other}"))),
    }
}
