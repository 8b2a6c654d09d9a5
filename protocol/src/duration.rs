//! Durations as written in the manifest and on the command line: `"250ms"`, `"5s"`, `"2m"`,
//! `"1h"`, `"1d"`, or a bare number of seconds (`5`, `0.5`).

use serde::{de, Deserialize, Deserializer};
use std::time::Duration;

/// Parses `"250ms"`, `"5s"`, `"1.5m"`, `"2h"`, `"1d"` (or the words: `"10 minutes"`, `"1 day"`)
/// or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!(
            "invalid duration {text:?}: a duration cannot be negative"
        ));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        format!("invalid duration {text:?}: expected e.g. \"500ms\", \"5s\", \"2m\"")
    })?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "ms" | "msec" | "millisecond" | "milliseconds" => 0.001,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        other => {
            return Err(format!(
                "invalid duration {text:?}: unknown unit {other:?} (use ms, s, m, h or d)"
            ))
        }
    };
    let secs = value * scale;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration {text:?}"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("invalid duration {text:?}: too long"))
}

/// Serde helper for `Option<Duration>` fields written as text or a number of seconds.
pub fn deserialize_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(f64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Num(n)) if n >= 0.0 && n.is_finite() => Duration::try_from_secs_f64(n)
            .map(Some)
            .map_err(|_| de::Error::custom(format!("invalid duration {n}: too long"))),
        Some(Raw::Num(n)) => Err(de::Error::custom(format!("invalid duration {n}"))),
        Some(Raw::Text(t)) => parse_duration(&t).map(Some).map_err(de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("5 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("99999999999999999999999")
            .unwrap_err()
            .contains("too long"));
        assert!(parse_duration("-5").is_err());
        assert!(parse_duration("-3s").unwrap_err().contains("negative"));
        assert_eq!(
            parse_duration("10 minutes").unwrap(),
            Duration::from_secs(600)
        );
        assert_eq!(parse_duration("1 day").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_duration("2 hrs").unwrap(), Duration::from_secs(7200));
    }
}
