//! Reporting a store or broker that stopped answering: one warning when it goes, a reminder
//! every ten seconds while it stays away, one line when it is back. The beat never exits over
//! an outage; it retries on its next tick.

use std::time::{Duration, Instant};

const REMIND_EVERY: Duration = Duration::from_secs(10);

/// The health of one service as the beat saw it last.
pub struct Outage {
    what: &'static str,
    since: Option<Instant>,
    reminded: Instant,
}

impl Outage {
    pub fn new(what: &'static str) -> Self {
        Outage {
            what,
            since: None,
            reminded: Instant::now(),
        }
    }

    pub fn is_down(&self) -> bool {
        self.since.is_some()
    }

    /// A call failed with `error`.
    pub fn down(&mut self, error: &dyn std::fmt::Display) {
        match self.since {
            None => {
                tracing::warn!(error = %error, "beat: {} unreachable; retrying", self.what);
                self.since = Some(Instant::now());
                self.reminded = Instant::now();
            }
            Some(since) if self.reminded.elapsed() >= REMIND_EVERY => {
                tracing::warn!(
                    error = %error,
                    down_for = ?since.elapsed(),
                    "beat: {} still unreachable; retrying", self.what
                );
                self.reminded = Instant::now();
            }
            Some(_) => {}
        }
    }

    /// A call succeeded.
    pub fn up(&mut self) {
        if let Some(since) = self.since.take() {
            tracing::info!(down_for = ?since.elapsed(), "beat: {} reachable again", self.what);
        }
    }
}
