//! Per-task limits and stop requests: the soft deadline (a signal the SDK turns into an
//! exception), the hard deadline (SIGKILL to the whole group), and a stop asked from outside
//! (revoke `--terminate`: TERM then KILL after a grace period; cold shutdown: KILL now).

use nix::sys::signal::Signal;
use std::time::Duration;
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
}

pub type StopReceiver = watch::Receiver<StopRequest>;

/// The time limits of one run, as instants.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub soft_at: Option<Instant>,
    pub hard_at: Option<Instant>,
    pub soft_signal: Signal,
    /// The hard limit as configured, for messages.
    pub hard: Option<Duration>,
}

impl Limits {
    pub fn new(soft: Option<Duration>, hard: Option<Duration>, soft_signal: Signal) -> Self {
        let now = Instant::now();
        Limits {
            soft_at: soft.map(|d| now + d),
            hard_at: hard.map(|d| now + d),
            soft_signal,
            hard,
        }
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
