//! Per-task limits and stop requests: the soft deadline (a signal the SDK turns into an
//! exception), the hard deadline (SIGKILL to the whole process tree, `tree.rs`), and a stop asked from outside
//! (revoke `--terminate`: TERM then KILL after a grace period; cold shutdown: KILL now; soft
//! shutdown: the soft limit now).

use super::unix::{signal_group, signal_process};
use nix::sys::signal::Signal;
use std::time::Duration;
use stem_protocol::manifest::SoftAction;
use tokio::sync::watch;
use tokio::time::Instant;

/// How a running task should be stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StopRequest {
    #[default]
    None,
    /// Revoked with terminate: TERM to the group, KILL after `grace`.
    Terminate { grace: Duration },
    /// Cold shutdown: KILL now; the task is released, not recorded.
    Kill,
    /// Soft shutdown: act on the soft limit now (the task may finish or end itself).
    Soft,
}

/// Whether a run should still listen for stop requests: not when the one pending is a soft
/// stop it already acted on (a later kill or terminate replaces it and is heard).
pub fn listening(stop: &StopReceiver, soft_taken: bool) -> bool {
    !(soft_taken && *stop.borrow() == StopRequest::Soft)
}

pub type StopReceiver = watch::Receiver<StopRequest>;

/// The time limits of one run, as instants.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub soft_at: Option<Instant>,
    pub hard_at: Option<Instant>,
    pub soft_signal: Signal,
    pub soft_action: SoftAction,
    /// The limits as configured, for messages.
    pub soft: Option<Duration>,
    pub hard: Option<Duration>,
}

impl Limits {
    pub fn new(
        soft: Option<Duration>,
        hard: Option<Duration>,
        soft_signal: Signal,
        soft_action: SoftAction,
    ) -> Self {
        let now = Instant::now();
        Limits {
            soft_at: soft.map(|d| now + d),
            hard_at: hard.map(|d| now + d),
            soft_signal,
            soft_action,
            soft,
            hard,
        }
    }

    /// Acts on the soft limit for the task whose process is `pid` (its group's leader): the
    /// soft signal to that process only, or SIGTERM to its whole group when the manifest asks
    /// for a polite stop. Returns what was done, for messages.
    pub fn soft_limit(&self, pid: u32) -> String {
        match self.soft_action {
            SoftAction::Signal => {
                signal_process(pid, self.soft_signal);
                format!("{} sent to the task's process", self.soft_signal)
            }
            SoftAction::Terminate => {
                signal_group(pid, Signal::SIGTERM);
                "SIGTERM sent to the task's process group".to_string()
            }
        }
    }

    /// The error of a task that ended unsuccessfully after its soft limit: how it ended is
    /// the limit's doing, so it is reported as the limit, not as an exit status.
    pub fn soft_exceeded(&self, how: &str, stderr: String) -> stem_protocol::TaskError {
        let after = match self.soft {
            Some(d) => format!("after its soft_time_limit of {d:?}"),
            None => "after the worker's soft shutdown".to_string(),
        };
        stem_protocol::TaskError::new("SoftTimeLimitExceeded", format!("{how} {after}"))
            .with_traceback(stderr)
    }
}

/// Why the supervisor ended a run by force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forced {
    HardLimit,
    Revoked,
    Shutdown,
}

/// Sleeps until `at`, or forever when there is none (for optional `select!` arms).
pub async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Waits for the next stop request other than `None` (forever if the sender is gone).
pub async fn next_stop(stop: &mut StopReceiver) -> StopRequest {
    loop {
        let current = *stop.borrow_and_update();
        if current != StopRequest::None {
            return current;
        }
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The outcome of a run the supervisor ended by force.
pub fn forced_outcome(forced: Forced, limits: Limits, stderr: String) -> super::RunOutcome {
    let error = match forced {
        Forced::HardLimit => {
            let limit = limits
                .hard
                .map(|d| format!("{:?}", d))
                .unwrap_or_else(|| "?".into());
            stem_protocol::TaskError::new(
                "TimeLimitExceeded",
                format!("killed (SIGKILL to its whole process tree) at its time_limit of {limit}"),
            )
        }
        Forced::Revoked => {
            stem_protocol::TaskError::new("Revoked", "terminated by revoke").permanent()
        }
        Forced::Shutdown => stem_protocol::TaskError::new(
            "WorkerShutdown",
            "killed by a cold shutdown of the worker",
        ),
    };
    super::RunOutcome {
        result: Err(error.with_traceback(stderr.clone())),
        stderr,
        forced: Some(forced),
        healthy: false,
    }
}
