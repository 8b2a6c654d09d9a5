//! A task's retry policy from the manifest: exponential (with a factor and a cap) or fixed
//! backoff, with or without full jitter.

use crate::duration::deserialize_opt;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    #[default]
    Exponential,
    Fixed,
}

/// How long to wait before each retry.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    #[serde(default)]
    pub backoff: Backoff,
    /// First delay (exponential) or every delay (fixed). Default 1s.
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub base: Option<Duration>,
    /// Growth per attempt (exponential). Default 2.
    pub factor: Option<f64>,
    /// Largest delay. Default 10 minutes.
    #[serde(default, deserialize_with = "deserialize_opt")]
    pub cap: Option<Duration>,
    /// Full jitter: a uniform delay in `[0, computed]`. Default: on for exponential backoff,
    /// off for fixed (a fixed delay means that delay).
    pub jitter: Option<bool>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            backoff: Backoff::Exponential,
            base: None,
            factor: None,
            cap: None,
            jitter: None,
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1 for the first retry), before jitter, and
    /// whether jitter applies. `unit` in `[0, 1)` picks the jittered point.
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        let base = self.base.unwrap_or(Duration::from_secs(1));
        let cap = self.cap.unwrap_or(Duration::from_secs(600));
        let raw = match self.backoff {
            Backoff::Fixed => base,
            Backoff::Exponential => {
                let factor = self.factor.unwrap_or(2.0).max(1.0);
                let exp = factor.powi(retry.saturating_sub(1).min(64) as i32);
                Duration::from_secs_f64((base.as_secs_f64() * exp).min(cap.as_secs_f64()))
            }
        };
        let raw = raw.min(cap);
        if self.jitter.unwrap_or(self.backoff == Backoff::Exponential) {
            raw.mul_f64(unit.clamp(0.0, 1.0))
        } else {
            raw
        }
    }
}
