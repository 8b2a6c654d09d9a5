//! Times as producers and operators write them: an RFC 3339 time or epoch milliseconds for an
//! `eta`, a duration ago (`1h`) or a time for `since`.

use std::time::{Duration, UNIX_EPOCH};
use stem_protocol::duration::parse_duration;
use stem_protocol::now_ms;

/// An RFC 3339 time (`2026-12-01T10:00:00Z`) as epoch milliseconds.
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let at = humantime::parse_rfc3339_weak(text.trim()).map_err(|e| {
        format!("expected an RFC 3339 time like \"2026-12-01T10:00:00Z\", got {text:?} ({e})")
    })?;
    let ms = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| format!("{text:?} is before 1970"))?
        .as_millis();
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
        let err = parse_since("yesterday").expect_err("not a time");
        assert!(err.contains("\"yesterday\""), "{err}");
    }
}
