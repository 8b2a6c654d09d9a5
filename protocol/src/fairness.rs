//! Fairness in the manifest: `[limits.NAME]` tables shared by any number of tasks (a rate
//! and/or a concurrency limit, optionally per key), a task's `max_concurrency_key`, its
//! `fair_key` (where a task's fairness key comes from) and its `debounce` settings; and the
//! gates (slots and token buckets) a task passes before it starts, worked out from them.

use crate::envelope::{TaskEnvelope, MAX_KEY_LEN};
use crate::flow::{check_key_path, key_value, FlowLimits, Rate};
use crate::manifest::{Manifest, TaskSpec};
use serde::Deserialize;
use std::time::Duration;

/// `[limits.NAME]`: limits every task naming it in `limits = [...]` shares across the fleet.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    /// Starts across the fleet: `"25/s"`.
    pub rate: Option<Rate>,
    /// Starts allowed at once after a quiet spell (default 1).
    pub burst: Option<u32>,
    /// At most this many running at once across the fleet.
    pub max_concurrency: Option<u32>,
    /// One limit per value of `kwargs.NAME`, `args.N` or `headers.NAME` of the task.
    pub key: Option<String>,
}

/// A task's debounce: enqueues of one key within `window` of each other run once.
#[derive(Debug, Clone, PartialEq)]
pub struct Debounce {
    pub window: Duration,
    /// The run comes no later than this after the burst's first enqueue.
    pub max_wait: Option<Duration>,
    /// The path of the key's value (one debounce per task name when `None`).
    pub key: Option<String>,
}

impl Debounce {
    pub fn of(spec: &TaskSpec) -> Option<Debounce> {
        Some(Debounce {
            window: spec.debounce?,
            max_wait: spec.debounce_max_wait,
            key: spec.debounce_key.clone(),
        })
    }

    /// The debounce key of task `name` enqueued as `env`: `NAME` or `NAME:VALUE`.
    pub fn key_of(&self, name: &str, env: &TaskEnvelope) -> String {
        let key = match &self.key {
            None => name.to_string(),
            Some(path) => format!("{name}:{}", key_value(path, env).unwrap_or("-".into())),
        };
        clip(key)
    }
}

/// The shared limits a task names, in the order named (unknown names were refused at parse).
pub(crate) fn shared_limits(m: &Manifest, spec: &TaskSpec) -> Vec<(String, LimitSpec)> {
    let names = spec.limits.as_deref().unwrap_or_default();
    names
        .iter()
        .filter_map(|n| m.limits.get(n).map(|l| (n.clone(), l.clone())))
        .collect()
}

/// A counted slot a task takes before it starts: its key and how many may hold one.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub key: String,
    pub max: u32,
}

/// A token bucket a task takes one token from before it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub key: String,
    pub per_second: f64,
    pub burst: u32,
}

impl FlowLimits {
    /// Whether a task with these limits passes a gate before it starts.
    pub fn gated(&self) -> bool {
        self.rate_limit.is_some() || self.max_concurrency.is_some() || !self.limits.is_empty()
    }

    /// The slots task `name` enqueued as `env` takes: its own (per key with
    /// `max_concurrency_key`), then each shared limit's.
    pub fn slots(&self, name: &str, env: &TaskEnvelope) -> Vec<Slot> {
        let mut out = Vec::new();
        if let Some(max) = self.max_concurrency {
            let key = match &self.max_concurrency_key {
                None => format!("slots:{name}"),
                Some(path) => format!("slots:{name}:{}", value_or_dash(path, env)),
            };
            out.push(Slot {
                key: clip(key),
                max,
            });
        }
        for (limit, spec) in &self.limits {
            if let Some(max) = spec.max_concurrency {
                out.push(Slot {
                    key: clip(shared_key("slots", limit, spec, env)),
                    max,
                });
            }
        }
        out
    }

    /// The buckets task `name` enqueued as `env` takes a token from: its own, then each shared
    /// limit's.
    pub fn buckets(&self, name: &str, env: &TaskEnvelope) -> Vec<Bucket> {
        let mut out = Vec::new();
        if let Some(rate) = &self.rate_limit {
            out.push(Bucket {
                key: clip(self.bucket(name, env)),
                per_second: rate.per_second,
                burst: self.burst,
            });
        }
        for (limit, spec) in &self.limits {
            if let Some(rate) = &spec.rate {
                out.push(Bucket {
                    key: clip(shared_key("rate", limit, spec, env)),
                    per_second: rate.per_second,
                    burst: spec.burst.unwrap_or(1).max(1),
                });
            }
        }
        out
    }

    /// The fairness key the manifest gives a task its producer gave none (a missing value is
    /// the `-` key).
    pub fn fair_key_of(&self, env: &TaskEnvelope) -> Option<String> {
        let path = self.fair_key.as_ref()?;
        Some(clip(value_or_dash(path, env)))
    }
}

/// `PREFIX@LIMIT` or `PREFIX@LIMIT:VALUE`: a shared limit's slot or bucket key (`@` keeps them
/// apart from tasks' own, which are `PREFIX:TASK`).
fn shared_key(prefix: &str, limit: &str, spec: &LimitSpec, env: &TaskEnvelope) -> String {
    match &spec.key {
        None => format!("{prefix}@{limit}"),
        Some(path) => format!("{prefix}@{limit}:{}", value_or_dash(path, env)),
    }
}

fn value_or_dash(path: &str, env: &TaskEnvelope) -> String {
    key_value(path, env).unwrap_or_else(|| "-".into())
}

/// Keys longer than [`MAX_KEY_LEN`] are cut (at a character boundary): a value is data, and a
/// megabyte of it must not become a megabyte of key in every store.
fn clip(mut key: String) -> String {
    if key.len() > MAX_KEY_LEN {
        let mut end = MAX_KEY_LEN;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
    }
    key
}

/// The fairness fields of one task: the key to blame and what is wrong.
pub fn check_task(m: &Manifest, task: &TaskSpec) -> Result<(), (&'static str, String)> {
    for (field, path) in [
        ("max_concurrency_key", &task.max_concurrency_key),
        ("fair_key", &task.fair_key),
        ("debounce_key", &task.debounce_key),
    ] {
        if let Some(path) = path {
            check_key_path(path).map_err(|m| (field, format!("{field}: {m}")))?;
        }
    }
    if task.max_concurrency_key.is_some() && task.max_concurrency.is_none() {
        return Err((
            "max_concurrency_key",
            "max_concurrency_key needs a max_concurrency".into(),
        ));
    }
    for name in task.limits.as_deref().unwrap_or_default() {
        if !m.limits.contains_key(name) {
            let known: Vec<&str> = m.limits.keys().map(String::as_str).collect();
            return Err((
                "limits",
                format!(
                    "limits: no [limits.{name}] table (defined: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    match (task.debounce, task.debounce_max_wait) {
        (Some(d), _) if d.is_zero() => {
            return Err(("debounce", "debounce must be longer than 0s".into()))
        }
        (None, Some(_)) => {
            return Err((
                "debounce_max_wait",
                "debounce_max_wait needs a debounce".into(),
            ))
        }
        (None, None) if task.debounce_key.is_some() => {
            return Err(("debounce_key", "debounce_key needs a debounce".into()))
        }
        (Some(d), Some(w)) if w < d => {
            return Err((
                "debounce_max_wait",
                "debounce_max_wait must be at least the debounce window".into(),
            ))
        }
        _ => {}
    }
    if task.debounce.is_some() && (task.unique_for.is_some()) {
        return Err((
            "debounce",
            "debounce and unique_for both decide which enqueues run: choose one".into(),
        ));
    }
    Ok(())
}

/// Checks one `[limits.NAME]` table: the key to blame and what is wrong.
pub fn check_limit(limit: &LimitSpec) -> Result<(), (&'static str, String)> {
    if limit.rate.is_none() && limit.max_concurrency.is_none() {
        return Err((
            "rate",
            "a limit needs a rate (\"25/s\") or a max_concurrency, or both".into(),
        ));
    }
    if limit.max_concurrency == Some(0) {
        return Err((
            "max_concurrency",
            "max_concurrency must be at least 1".into(),
        ));
    }
    match limit.burst {
        Some(0) => return Err(("burst", "burst must be at least 1".into())),
        Some(_) if limit.rate.is_none() => return Err(("burst", "burst needs a rate".into())),
        _ => {}
    }
    if let Some(path) = &limit.key {
        check_key_path(path).map_err(|m| ("key", format!("key: {m}")))?;
    }
    Ok(())
}
