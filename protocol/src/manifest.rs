//! The `stem.toml` manifest schema: runtimes (how a child starts), tasks (which names may run
//! and with which limits), defaults and `[stem]` settings. Parsing is strict: an unknown key, a
//! task with both or neither of `runtime`/`exec`, or a missing runtime is an error naming the
//! file, the line and what is wrong. Only tasks named here ever run.

use crate::duration::deserialize_opt;
use crate::schedule::{Schedule, ScheduleEntry, ScheduleError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub stem: Settings,
    #[serde(default)]
    pub defaults: TaskDefaults,
    #[serde(default)]
    pub runtimes: BTreeMap<String, Runtime>,
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskSpec>,
    /// `[schedules.NAME]`: periodic and one-off fires of tasks (see [`crate::schedule`]).
    #[serde(default)]
    pub schedules: BTreeMap<String, ScheduleEntry>,
    /// `[workflows.NAME]`: durable workflows, whose resumes run as the task `wf:NAME`.
    #[serde(default)]
    pub workflows: BTreeMap<String, crate::manifest_workflows::WorkflowSpec>,
    /// `[limits.NAME]`: a rate and/or concurrency limit shared by every task that names it.
    #[serde(default)]
    pub limits: BTreeMap<String, crate::fairness::LimitSpec>,
}

/// `[stem]`: connection and worker settings (CLI flags and `STEM_*` variables win over these).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub broker: Option<String>,
    pub backend: Option<String>,
    pub revoke_store: Option<String>,
    pub schedule_store: Option<String>,
    pub namespace: Option<String>,
    pub concurrency: Option<usize>,
    pub queues: Option<Vec<String>>,
    /// How long a fetched task stays leased before another worker may take it over.
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub visibility_timeout: Option<Duration>,
    /// How long result records are kept.
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub result_ttl: Option<Duration>,
    /// Deliveries of one task beyond this count send it to the dead letters as poison.
    pub max_deliveries: Option<u32>,
}

/// `[defaults]`: values every task inherits unless it sets its own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDefaults {
    pub queue: Option<String>,
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub soft_time_limit: Option<Duration>,
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub time_limit: Option<Duration>,
    pub max_retries: Option<u32>,
    pub retry: Option<RetryPolicy>,
    pub soft_limit_action: Option<SoftAction>,
    pub retry_on: Option<Vec<String>>,
    pub no_retry_on: Option<Vec<String>>,
}

/// What the soft time limit does (see `docs/manifest.md`). The hard limit is always SIGKILL to
/// the whole process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SoftAction {
    /// `soft_signal` to the task's own process only (an SDK turns it into an exception; an
    /// `exec` program's default `SIGURG` is ignored unless it traps it).
    #[default]
    Signal,
    /// SIGTERM to the task's whole process group: a polite stop before the hard limit.
    Terminate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// A fresh process per task.
    #[default]
    Process,
    /// Warm children reused for many tasks.
    Pool,
    /// One warm process that forks a fresh child per task (Python SDK).
    Forkserver,
}

/// `[runtimes.NAME]`: how a child of this runtime starts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    pub command: Vec<String>,
    #[serde(default)]
    pub isolation: Isolation,
    /// Signal sent to the task's process at the soft limit (default `SIGUSR1`).
    pub soft_signal: Option<String>,
    /// Warm children kept by a pool (default: the worker's concurrency).
    pub pool_size: Option<usize>,
    pub max_tasks_per_child: Option<u32>,
    pub max_memory_mb: Option<u64>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    /// Resource limits of every child of this runtime (warm ones included).
    pub rlimits: Option<Rlimits>,
}

/// `[tasks.NAME]`: one task that may run, via a runtime (an SDK child) or `exec` (any program).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub runtime: Option<String>,
    pub exec: Option<Vec<String>>,
    pub queue: Option<String>,
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub soft_time_limit: Option<Duration>,
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub time_limit: Option<Duration>,
    pub max_retries: Option<u32>,
    pub retry: Option<RetryPolicy>,
    /// Only failures of these error types retry (matched against the type and type chain the
    /// child reports); others fail at once. Unset: every retryable failure retries.
    pub retry_on: Option<Vec<String>>,
    /// Failures of these error types never retry (checked before `retry_on`).
    pub no_retry_on: Option<Vec<String>>,
    pub soft_signal: Option<String>,
    pub soft_limit_action: Option<SoftAction>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub rlimits: Option<Rlimits>,
    /// Starts across the fleet: `"20/s"`, `"10/m"`, `"100/h"`.
    pub rate_limit: Option<crate::flow::Rate>,
    /// Starts allowed at once after a quiet spell (default 1).
    pub burst: Option<u32>,
    /// One bucket per value of `kwargs.NAME`, `args.N` or `headers.NAME`.
    pub rate_limit_key: Option<String>,
    /// At most this many running at once across the fleet.
    pub max_concurrency: Option<u32>,
    /// One live task per name and arguments for this long (also after it finished).
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub unique_for: Option<Duration>,
    /// A task not started this long after it was enqueued is recorded `expired`, not run.
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub expires: Option<Duration>,
    /// `max_concurrency` per value of `kwargs.NAME`, `args.N` or `headers.NAME`.
    pub max_concurrency_key: Option<String>,
    /// Where a task's fairness key comes from when its producer gave none.
    pub fair_key: Option<String>,
    /// The `[limits.NAME]` tables this task also passes.
    pub limits: Option<Vec<String>>,
    /// A burst of enqueues within this window runs once, with the last arguments.
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub debounce: Option<Duration>,
    /// A debounced run is never put off longer than this after the burst's first enqueue.
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub debounce_max_wait: Option<Duration>,
    /// One debounce per value of this path (default: one per task name).
    pub debounce_key: Option<String>,
}

/// Optional resource limits applied to a task's child.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rlimits {
    pub memory_mb: Option<u64>,
    pub cpu_seconds: Option<u64>,
    pub open_files: Option<u64>,
}

pub use crate::manifest_checks::line_of_key;
pub use crate::retry_policy::{Backoff, RetryPolicy};

/// A task's settings after `[defaults]` are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveTask {
    pub name: String,
    pub kind: TaskKind,
    pub queue: String,
    pub soft_time_limit: Option<Duration>,
    pub time_limit: Option<Duration>,
    pub max_retries: u32,
    pub retry: RetryPolicy,
    /// Error types that retry (empty: all); see [`TaskSpec::retry_on`].
    pub retry_on: Vec<String>,
    /// Error types that never retry.
    pub no_retry_on: Vec<String>,
    pub soft_signal: String,
    pub soft_action: SoftAction,
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub rlimits: Rlimits,
    pub flow: crate::flow::FlowLimits,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskKind {
    /// Served by a child of the named runtime over the JSON-lines protocol.
    Runtime(String),
    /// Any program; the envelope on stdin, the result on stdout.
    Exec(Vec<String>),
}

/// A manifest problem: the file, the line (when known) and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ManifestError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl Manifest {
    /// Parses and validates manifest text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of_offset(text, s.start));
            let message = e.message().trim().replace('\n', " ");
            // A typo inside `[schedules.NAME]` names the schedule too.
            let message = match line.and_then(|l| schedule_at_line(text, l)) {
                Some(name) => format!("schedules.{name}: {message}"),
                None => message,
            };
            ManifestError {
                file: file.to_string(),
                line,
                message,
            }
        })?;
        crate::manifest_checks::validate(&manifest, text, file)?;
        Ok(manifest)
    }

    /// The validated schedules of this file, by name.
    pub fn schedules(&self) -> Result<Vec<Schedule>, ScheduleError> {
        self.schedules
            .iter()
            .map(|(name, entry)| entry.to_schedule(name))
            .collect()
    }

    /// The task's settings with defaults applied, or `None` when the manifest does not name it.
    pub fn effective(&self, name: &str) -> Option<EffectiveTask> {
        let from_workflow;
        let spec = match crate::workflow::workflow_of(name) {
            Some(wf) => {
                from_workflow = self.workflows.get(wf)?.as_task();
                &from_workflow
            }
            None => self.tasks.get(name)?,
        };
        let d = &self.defaults;
        let (kind, runtime) = match (&spec.runtime, &spec.exec) {
            (Some(rt), _) => (TaskKind::Runtime(rt.clone()), self.runtimes.get(rt)),
            (None, Some(cmd)) => (TaskKind::Exec(cmd.clone()), None),
            (None, None) => return None,
        };
        // An SDK child handles SIGUSR1; a plain program would die of it, so `exec` tasks get
        // SIGURG, whose default action is to ignore it.
        let default_signal = match kind {
            TaskKind::Runtime(_) => "SIGUSR1",
            TaskKind::Exec(_) => "SIGURG",
        };
        let soft_signal = spec
            .soft_signal
            .clone()
            .or_else(|| runtime.and_then(|r| r.soft_signal.clone()))
            .unwrap_or_else(|| default_signal.to_string());
        Some(EffectiveTask {
            name: name.to_string(),
            kind,
            queue: spec
                .queue
                .clone()
                .or_else(|| d.queue.clone())
                .unwrap_or_else(|| crate::envelope::DEFAULT_QUEUE.to_string()),
            soft_time_limit: spec.soft_time_limit.or(d.soft_time_limit),
            time_limit: spec.time_limit.or(d.time_limit),
            max_retries: spec.max_retries.or(d.max_retries).unwrap_or(0),
            retry: spec.retry.or(d.retry).unwrap_or_default(),
            retry_on: spec
                .retry_on
                .clone()
                .or_else(|| d.retry_on.clone())
                .unwrap_or_default(),
            no_retry_on: spec
                .no_retry_on
                .clone()
                .or_else(|| d.no_retry_on.clone())
                .unwrap_or_default(),
            soft_signal,
            soft_action: spec
                .soft_limit_action
                .or(d.soft_limit_action)
                .unwrap_or_default(),
            env: spec.env.clone(),
            cwd: spec.cwd.clone(),
            rlimits: spec.rlimits.unwrap_or_default(),
            flow: crate::flow::FlowLimits {
                rate_limit: spec.rate_limit.clone(),
                burst: spec.burst.unwrap_or(1).max(1),
                rate_limit_key: spec.rate_limit_key.clone(),
                max_concurrency: spec.max_concurrency,
                unique_for: spec.unique_for,
                expires: spec.expires,
                max_concurrency_key: spec.max_concurrency_key.clone(),
                fair_key: spec.fair_key.clone(),
                limits: crate::fairness::shared_limits(self, spec),
                debounce: crate::fairness::Debounce::of(spec),
            },
        })
    }

    /// Every task name that may run: the tasks, then `wf:NAME` for each workflow.
    pub fn task_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tasks.keys().cloned().collect();
        names.extend(self.workflows.keys().map(|w| crate::workflow::task_name(w)));
        names
    }

    /// Every queue some task of the manifest is routed to, sorted, without duplicates.
    pub fn queues(&self) -> Vec<String> {
        let mut qs: Vec<String> = self
            .task_names()
            .iter()
            .filter_map(|n| self.effective(n).map(|t| t.queue))
            .collect();
        qs.sort();
        qs.dedup();
        qs
    }
}

/// The signals a manifest may name for the soft limit.
pub const SOFT_SIGNALS: &[&str] = &[
    "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT", "SIGHUP", "SIGALRM", "SIGXCPU", "SIGURG", "SIGWINCH",
];

/// The `NAME` of the `[schedules.NAME]` table that holds 1-based `line`, if any.
fn schedule_at_line(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line)
        .filter_map(|l| {
            let l = l.trim();
            l.starts_with('[')
                .then(|| l.trim_matches(|c| c == '[' || c == ']'))
        })
        .last()
        .and_then(|table| table.strip_prefix("schedules."))
        .map(|name| name.trim_matches('"').to_string())
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of the `[table]` header (or of a dotted key starting with it), 1-based.
pub(crate) fn line_of_table(text: &str, table: &str) -> Option<usize> {
    let header = format!("[{table}]");
    let quoted = {
        let (head, tail) = table.split_once('.').unwrap_or((table, ""));
        format!("[{head}.\"{tail}\"]")
    };
    text.lines()
        .position(|l| {
            let l = l.trim();
            l == header || l == quoted
        })
        .map(|i| i + 1)
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
