//! `[workflows.NAME]`: a durable workflow's declaration — the runtime that runs its code, the
//! queue its resumes go to, the limits and retry policy of each resume (as for a task), its
//! version and its time bounds. Its resumes run as the task `wf:NAME`.

use crate::duration::deserialize_opt;
use crate::manifest::{RetryPolicy, Rlimits, SoftAction, TaskSpec};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    pub runtime: Option<String>,
    pub queue: Option<String>,
    /// Per resume (one delivery of the code), as a task's.
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub soft_time_limit: Option<Duration>,
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub time_limit: Option<Duration>,
    /// A resume that crashes or times out runs again this many times.
    pub max_retries: Option<u32>,
    pub retry: Option<RetryPolicy>,
    pub soft_signal: Option<String>,
    pub soft_limit_action: Option<SoftAction>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub rlimits: Option<Rlimits>,
    /// A run not finished this long after it started ends `timed_out`.
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub max_run_duration: Option<Duration>,
    /// A run suspended this long at once ends `timed_out`.
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub max_suspension: Option<Duration>,
    /// Raise it when the code's steps change: runs started under another version replay by
    /// step name instead of by position (default 1).
    pub version: Option<u32>,
}

impl WorkflowSpec {
    /// The task its resumes run as.
    pub fn as_task(&self) -> TaskSpec {
        TaskSpec {
            runtime: self.runtime.clone(),
            exec: None,
            queue: self.queue.clone(),
            soft_time_limit: self.soft_time_limit,
            time_limit: self.time_limit,
            max_retries: self.max_retries,
            retry: self.retry,
            soft_signal: self.soft_signal.clone(),
            soft_limit_action: self.soft_limit_action,
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            rlimits: self.rlimits,
            ..TaskSpec::default()
        }
    }

    pub fn version(&self) -> u32 {
        self.version.unwrap_or(1)
    }
}
