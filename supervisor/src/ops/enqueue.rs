//! Publishing tasks: an envelope built from typed options (routed, and its name checked, by the
//! manifest when there is one), one publish, or many copies in batches for load tests. Waiting
//! for the outcome is [`super::results::wait`].

use super::{OpsError, OpsResult};
use crate::manifest::LoadedManifest;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use stem_adapters::Adapters;
use stem_protocol::envelope::DEFAULT_QUEUE;
use stem_protocol::trace::{self, TraceParent};
use stem_protocol::{new_task_id, now_ms, TaskEnvelope, TaskState};

/// The manifest looked at when none is named.
pub const DEFAULT_MANIFEST: &str = "stem.toml";

/// Copies published per round trip by [`publish_copies`].
const BATCH: usize = 1000;

/// The longest a task may be delayed (`countdown`, `eta`): ten years. Anything longer is a
/// mistake (`--countdown 1e16`), refused rather than wrapped into "now".
pub const MAX_DELAY: Duration = Duration::from_secs(10 * 365 * 86_400);

/// The largest encoded task each broker takes, in bytes. Redis keeps every payload in memory
/// and serves one command at a time, so it gets less; every payload also travels to a child
/// as one line (at most 16 MiB). Documented in `docs/manifest.md`.
pub fn max_payload(broker: &str) -> usize {
    const MIB: usize = 1024 * 1024;
    match broker {
        "redis" => 8 * MIB,
        _ => 16 * MIB - 64 * 1024,
    }
}

/// The latest eta (epoch ms): the last millisecond of the year 9999, the last RFC 3339 writes.
pub const MAX_ETA_MS: i64 = 253_402_300_799_999;

/// Refuses a delay longer than [`MAX_DELAY`].
pub fn check_delay(d: Duration) -> Result<(), String> {
    if d > MAX_DELAY {
        return Err(format!(
            "a delay of {d:?} is more than the longest allowed ({} days)",
            MAX_DELAY.as_secs() / 86_400
        ));
    }
    Ok(())
}

/// Refuses a task whose encoded envelope is bigger than the broker takes.
pub fn check_payload(adapters: &Adapters, env: &TaskEnvelope) -> OpsResult<()> {
    let broker = adapters.broker.backend();
    let max = max_payload(broker);
    let bytes = env.to_json().len();
    if bytes > max {
        return Err(OpsError::PayloadTooLarge {
            id: env.id.clone(),
            bytes,
            max,
            broker: broker.to_string(),
        });
    }
    Ok(())
}

/// When a task may start.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Start {
    #[default]
    Now,
    /// This long after it is enqueued.
    After(Duration),
    /// Not before this time (epoch ms).
    At(i64),
}

/// Everything a producer says about one task.
#[derive(Debug, Clone, Default)]
pub struct EnqueueOptions {
    /// The task name, as in the manifest.
    pub task: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
    /// The queue; default: the manifest's queue for the task, else `default`.
    pub queue: Option<String>,
    pub start: Start,
    /// 0 (lowest) to 9 (highest).
    pub priority: u8,
    /// Overrides the manifest's `max_retries` for this task.
    pub max_retries: Option<u32>,
    pub headers: BTreeMap<String, String>,
    /// The task id; default: a fresh one. Given, it is also unique: a second publish while the
    /// first is live is a no-op (see [`super::unique`]).
    pub id: Option<String>,
    /// Dedup by this key (`--unique-key`).
    pub unique_key: Option<String>,
    /// The dedup window (`--unique-for`; default: the manifest's `unique_for`).
    pub unique_for: Option<Duration>,
    /// Not started by then: recorded `expired` (default: the manifest's `expires`).
    pub expires: Option<Start>,
    /// Lower time limits and `ignore_result` (see [`super::overrides`]).
    pub overrides: super::overrides::Overrides,
    /// The fairness key (default: the manifest's `fair_key` path, if any).
    pub fair_key: Option<String>,
    /// The fairness key's weight (1 to 100).
    pub fair_weight: Option<u32>,
}

impl EnqueueOptions {
    pub fn new(task: impl Into<String>) -> Self {
        EnqueueOptions {
            task: task.into(),
            ..Default::default()
        }
    }
}

/// A published task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enqueued {
    pub id: String,
    pub queue: String,
    /// `pending` for a new task; for a duplicate, the existing task's state.
    pub state: TaskState,
    /// A live task already held this id or unique key: nothing was published, `id` is its.
    pub duplicate: bool,
}

/// What [`publish_copies`] did, and how fast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkPublished {
    pub published: usize,
    pub seconds: f64,
    pub per_second: f64,
}

/// The manifest at `path`, or `./stem.toml` when no path is given and that file exists, or none.
pub fn find_manifest(path: Option<&Path>) -> OpsResult<Option<LoadedManifest>> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None if Path::new(DEFAULT_MANIFEST).exists() => PathBuf::from(DEFAULT_MANIFEST),
        None => return Ok(None),
    };
    LoadedManifest::load(&path)
        .map(Some)
        .map_err(|e| OpsError::Manifest(e.to_string()))
}

/// The queue `task` goes to by the manifest, or [`OpsError::UnknownTask`] when the manifest
/// does not name it (workers would dead-letter it: better to refuse it here).
pub fn route(manifest: &LoadedManifest, task: &str) -> OpsResult<String> {
    match manifest.effective(task) {
        Some(t) => Ok(t.queue),
        None => Err(OpsError::UnknownTask {
            task: task.to_string(),
            manifest: manifest.path.clone(),
            known: manifest.manifest.tasks.keys().cloned().collect(),
        }),
    }
}

/// The envelope for `options`, checked against `manifest` when one is given and against the
/// protocol's invariants.
pub fn envelope(
    options: &EnqueueOptions,
    manifest: Option<&LoadedManifest>,
) -> OpsResult<TaskEnvelope> {
    let routed = manifest.map(|m| route(m, &options.task)).transpose()?;
    let flow = manifest
        .and_then(|m| m.effective(&options.task))
        .map(|t| t.flow)
        .unwrap_or_default();
    let mut env = TaskEnvelope::new(&options.task);
    env.args = options.args.clone();
    env.kwargs = options.kwargs.clone();
    env.queue = options
        .queue
        .clone()
        .or(routed)
        .unwrap_or_else(|| DEFAULT_QUEUE.into());
    env.priority = options.priority;
    env.max_retries = options.max_retries;
    super::overrides::apply(&mut env, &options.overrides, manifest)?;
    if let Some(id) = &options.id {
        env.id = id.clone();
    }
    env.headers = options.headers.clone();
    with_traceparent(&mut env.headers);
    let bad_start = |field: &str, message: String| OpsError::InvalidSpec {
        field: field.to_string(),
        message,
    };
    env.eta = match options.start {
        Start::Now => None,
        Start::After(delay) => {
            check_delay(delay).map_err(|m| bad_start("countdown", m))?;
            // A countdown runs on the store's clock, which judges the eta.
            Some(super::time::store_clock_ms().saturating_add(millis(delay)))
        }
        Start::At(at) if at > MAX_ETA_MS => {
            return Err(bad_start(
                "eta",
                format!("{at} is after the last instant RFC 3339 can write (year 9999)"),
            ))
        }
        Start::At(at) => Some(at),
    };
    env.expires_at = match options.expires.or(flow.expires.map(Start::After)) {
        None | Some(Start::Now) => None,
        Some(Start::After(d)) => Some(super::time::store_clock_ms().saturating_add(millis(d))),
        Some(Start::At(at)) => Some(at),
    };
    // An expiry before the start is taken as written: the task is recorded `expired`, unrun,
    // when its turn comes (as an expiry already past is).
    let want = super::unique::Uniqueness {
        by_id: options.id.is_some(),
        key: options.unique_key.clone(),
        window: options.unique_for.or(flow.unique_for),
    };
    super::unique::apply(&mut env, &want);
    if let Some(key) = &options.fair_key {
        let n = key.chars().count();
        if n == 0 || n > stem_protocol::envelope::MAX_KEY_CHARS {
            return Err(OpsError::InvalidSpec {
                field: "fair_key".into(),
                message: format!("expected a string of 1 to 256 characters, got {n}"),
            });
        }
    }
    env.fair_key = options.fair_key.clone().or_else(|| flow.fair_key_of(&env));
    env.fair_weight = options.fair_weight;
    if env.fair_weight.is_some() && env.fair_key.is_none() {
        return Err(OpsError::InvalidSpec {
            field: "fair_weight".into(),
            message: "a fair_weight needs a fair_key (given, or from the manifest's fair_key)"
                .into(),
        });
    }
    env.validate().map_err(OpsError::InvalidEnvelope)?;
    Ok(env)
}

/// Gives a task the producer's trace context: a valid `traceparent` it already has is kept, else
/// the one in this process's `TRACEPARENT` (the caller's span), else a new trace.
pub fn with_traceparent(headers: &mut BTreeMap<String, String>) {
    if headers
        .get(trace::HEADER)
        .is_some_and(|v| TraceParent::parse(v).is_some())
    {
        return;
    }
    let parent = std::env::var("TRACEPARENT")
        .ok()
        .and_then(|v| TraceParent::parse(&v))
        .unwrap_or_else(TraceParent::fresh);
    headers.insert(trace::HEADER.to_string(), parent.to_string());
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Publishes one task, unless it carries a unique lock a live task holds (then nothing is
/// published and the existing task is returned, `duplicate`). A task `manifest` debounces joins
/// its burst instead ([`super::debounce`]).
pub async fn publish(
    adapters: &Adapters,
    manifest: Option<&LoadedManifest>,
    env: &TaskEnvelope,
) -> OpsResult<Enqueued> {
    check_payload(adapters, env)?;
    if let Some(debounce) = super::debounce::of(manifest, env) {
        return super::debounce::publish(adapters, &debounce, env).await;
    }
    if let Some(held) = super::unique::claim(adapters, env).await? {
        return duplicate(adapters, held, &env.queue).await;
    }
    if let Err(e) = adapters.broker.publish(std::slice::from_ref(env)).await {
        let _ = super::unique::release(adapters, env).await;
        return Err(e.into());
    }
    super::unique::reset_record(adapters, env).await;
    Ok(Enqueued {
        id: env.id.clone(),
        queue: env.queue.clone(),
        state: TaskState::Pending,
        duplicate: false,
    })
}

/// The answer for a publish that found the run `held` live.
pub async fn duplicate(
    adapters: &Adapters,
    held: super::unique::Held,
    queue: &str,
) -> OpsResult<Enqueued> {
    let record = adapters.backend.get(&held.id).await?;
    Ok(Enqueued {
        queue: record
            .as_ref()
            .map_or_else(|| queue.to_string(), |r| r.queue.clone()),
        state: super::unique::held_state(&held, record.as_ref()),
        id: held.id,
        duplicate: true,
    })
}

/// Publishes `n` copies of `template`, each with a fresh id, in batches of a thousand. Each copy
/// starts its own trace, unless `TRACEPARENT` puts them all in the caller's.
pub async fn publish_copies(
    adapters: &Adapters,
    template: &TaskEnvelope,
    n: usize,
) -> OpsResult<BulkPublished> {
    check_payload(adapters, template)?;
    let started = Instant::now();
    let own_traces = std::env::var("TRACEPARENT").is_err();
    let mut sent = 0;
    while sent < n {
        let batch: Vec<TaskEnvelope> = (0..(n - sent).min(BATCH))
            .map(|_| {
                let mut copy = TaskEnvelope {
                    id: new_task_id(),
                    created_at: now_ms(),
                    ..template.clone()
                };
                if own_traces {
                    let fresh = TraceParent::fresh().to_string();
                    copy.headers.insert(trace::HEADER.to_string(), fresh);
                }
                copy
            })
            .collect();
        adapters.broker.publish(&batch).await?;
        sent += batch.len();
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(BulkPublished {
        published: n,
        seconds,
        per_second: n as f64 / seconds.max(1e-9),
    })
}

#[cfg(test)]
#[path = "enqueue_tests.rs"]
mod tests;
