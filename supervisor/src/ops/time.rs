//! Times as producers and operators write them: an RFC 3339 time or epoch milliseconds for an
//! `eta`, a duration ago (`1h`) or a time for `since`; and this process's clock against the
//! store's, on which leases, etas and expiries are judged.

use serde::Serialize;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, UNIX_EPOCH};
use stem_adapters::{AdapterError, Broker};
use stem_protocol::duration::parse_duration;
use stem_protocol::now_ms;

/// A clock further than this from the store's is warned about.
pub const SKEW_WARN_MS: i64 = 1_000;

/// This process's clock minus the store's, as last measured (0 until then).
static STORE_OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// Now on the store's clock as this process estimates it: its own clock corrected by the
/// offset last measured ([`clock_skew`]). For etas and expiries a worker computes or screens.
pub fn store_clock_ms() -> i64 {
    now_ms().saturating_sub(STORE_OFFSET_MS.load(Ordering::Relaxed))
}

/// This process's clock against the store's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockSkew {
    /// The store's time (epoch ms).
    pub store_ms: i64,
    /// This process's time at the same moment (the middle of the call).
    pub local_ms: i64,
    /// `local_ms - store_ms`: positive when this clock is ahead.
    pub offset_ms: i64,
    /// Off by more than [`SKEW_WARN_MS`].
    pub warn: bool,
}

impl ClockSkew {
    /// One line naming both times and the offset.
    pub fn describe(&self) -> String {
        let side = if self.offset_ms >= 0 {
            "ahead of"
        } else {
            "behind"
        };
        format!(
            "this host's clock ({}) is {:.3} s {side} the store's ({}); leases, etas and expiries \
             are judged on the store's clock, so times this host shows or computes are off \
             (fix its time, e.g. with NTP)",
            format_rfc3339(self.local_ms),
            self.offset_ms.unsigned_abs() as f64 / 1000.0,
            format_rfc3339(self.store_ms),
        )
    }
}

/// Asks the store for its time; `None` for a store that uses this process's clock.
pub async fn clock_skew(broker: &dyn Broker) -> Result<Option<ClockSkew>, AdapterError> {
    let before = now_ms();
    let Some(store_ms) = broker.store_time().await? else {
        return Ok(None);
    };
    let local_ms = before + (now_ms() - before) / 2;
    let offset_ms = local_ms - store_ms;
    STORE_OFFSET_MS.store(offset_ms, Ordering::Relaxed);
    Ok(Some(ClockSkew {
        store_ms,
        local_ms,
        offset_ms,
        warn: offset_ms.abs() > SKEW_WARN_MS,
    }))
}

/// At a process's start: a warning when its clock is off from the store's.
pub async fn warn_on_skew(broker: &dyn Broker) {
    match clock_skew(broker).await {
        Ok(Some(skew)) if skew.warn => {
            tracing::warn!(offset_ms = skew.offset_ms, "{}", skew.describe())
        }
        Ok(_) => {}
        Err(e) => tracing::debug!("cannot read the store's clock: {e}"),
    }
}

/// Measures the offset again every `every`, so a clock stepped while running is corrected.
pub async fn track_skew(broker: std::sync::Arc<dyn Broker>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = clock_skew(broker.as_ref()).await {
            tracing::debug!("cannot read the store's clock: {e}");
        }
    }
}

/// Now on the store's clock (epoch ms), for an eta computed from a countdown; this process's
/// clock when the store has none or does not answer.
pub async fn store_now(broker: &dyn Broker) -> i64 {
    let before = now_ms();
    match broker.store_time().await {
        Ok(Some(at)) => at + (now_ms() - before) / 2,
        _ => before,
    }
}

/// An RFC 3339 time (`2026-12-01T10:00:00Z`) as epoch milliseconds.
/// An RFC 3339 time (any offset; also the weaker `2026-12-01 10:00:00` form, taken as UTC) as
/// epoch milliseconds. A time before 1970 is 0: as a `since` it means everything, as an eta now.
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(at.timestamp_millis().max(0));
    }
    let at = humantime::parse_rfc3339_weak(text.trim()).map_err(|e| {
        format!("expected an RFC 3339 time like \"2026-12-01T10:00:00Z\", got {text:?} ({e})")
    })?;
    let ms = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    i64::try_from(ms).map_err(|_| format!("{text:?} is too far away"))
}

/// Epoch milliseconds as an RFC 3339 time (UTC, millisecond precision).
pub fn format_rfc3339(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(at).to_string()
}

/// `since`: a duration ago (`"90s"`, `"1h"`, `"2d"`) or an RFC 3339 time; epoch ms.
pub fn parse_since(text: &str) -> Result<i64, String> {
    if let Ok(ago) = parse_duration(text) {
        let ago = i64::try_from(ago.as_millis()).unwrap_or(i64::MAX);
        return Ok(now_ms().saturating_sub(ago));
    }
    parse_rfc3339(text).map_err(|_| {
        format!("expected a duration ago like \"1h\" or an RFC 3339 time, got {text:?}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_durations_count_back() {
        let ms = parse_rfc3339("2026-12-01T10:00:00Z").expect("valid");
        assert_eq!(ms, 1_796_119_200_000);
        assert_eq!(format_rfc3339(ms), "2026-12-01T10:00:00.000Z");
        let since = parse_since("1h").expect("a duration");
        assert!((now_ms() - 3_600_000 - since).abs() < 5_000, "{since}");
        assert_eq!(parse_since("2026-12-01T10:00:00Z"), Ok(ms));
        assert_eq!(parse_rfc3339("2026-12-01T11:30:00+01:30"), Ok(ms));
        assert_eq!(parse_rfc3339("1969-07-20T20:17:00Z"), Ok(0));
        let err = parse_since("yesterday").expect_err("not a time");
        assert!(err.contains("\"yesterday\""), "{err}");
    }
}
