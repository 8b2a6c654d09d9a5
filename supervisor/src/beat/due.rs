//! When a schedule fires: the next fire time after a moment, and the latest fire times due in
//! a window (for catch-up). Pure functions of the spec and explicit times, so the daylight-saving
//! cases are tested with a fake clock. Cron runs in the schedule's IANA zone through `croner`:
//! a fixed time that falls in a spring-forward gap fires once, at the first instant after the
//! gap; one that falls in a fall-back overlap fires once, at its first occurrence.

use chrono::{DateTime, TimeZone, Utc};
use stem_protocol::schedule::{parse_cron, parse_timezone, Spec};

/// Why fire times cannot be computed (a stored schedule that no longer parses).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DueError(String);

/// The first fire time strictly after `after` (epoch ms); `since` anchors an `every` without
/// an anchor. `None`: it never fires again.
pub fn next_after(spec: &Spec, since: i64, after: i64) -> Result<Option<i64>, DueError> {
    match spec {
        Spec::At { at } => Ok((*at > after).then_some(*at)),
        Spec::Every { every_ms, anchor } => {
            let (a, iv) = (anchor.unwrap_or(since), *every_ms as i64);
            if after < a {
                return Ok(Some(a));
            }
            Ok(Some(a + ((after - a) / iv + 1) * iv))
        }
        Spec::Cron { expr, timezone } => {
            let cron = parse_cron(expr).map_err(DueError)?;
            let tz = parse_timezone(timezone).map_err(DueError)?;
            // croner counts whole seconds: start from the second holding `after`.
            let start = tz.from_utc_datetime(&utc(after.div_euclid(1000) * 1000)?.naive_utc());
            match cron.find_next_occurrence(&start, false) {
                Ok(t) => Ok(Some(t.timestamp_millis())),
                Err(croner::errors::CronError::TimeSearchLimitExceeded) => Ok(None),
                Err(e) => Err(DueError(format!("cron {expr:?}: {e}"))),
            }
        }
    }
}

/// Up to `n` of the latest fire times in `(after, now]`, oldest first, and whether earlier
/// ones in that window were left out.
pub fn latest_due(
    spec: &Spec,
    since: i64,
    after: i64,
    now: i64,
    n: usize,
) -> Result<(Vec<i64>, bool), DueError> {
    let n = n.max(1);
    let mut out = Vec::new();
    match spec {
        Spec::At { at } => {
            if *at > after && *at <= now {
                out.push(*at);
            }
        }
        Spec::Every { every_ms, anchor } => {
            let (a, iv) = (anchor.unwrap_or(since), *every_ms as i64);
            if now >= a {
                let mut t = a + (now - a) / iv * iv;
                while t > after && t >= a && out.len() <= n {
                    out.push(t);
                    t -= iv;
                }
            }
        }
        Spec::Cron { expr, timezone } => {
            let cron = parse_cron(expr).map_err(DueError)?;
            let tz = parse_timezone(timezone).map_err(DueError)?;
            let end = tz.from_utc_datetime(&utc(now.div_euclid(1000) * 1000)?.naive_utc());
            let mut cursor = end;
            let mut inclusive = true;
            while out.len() <= n {
                let Ok(t) = cron.find_previous_occurrence(&cursor, inclusive) else {
                    break;
                };
                let ms = t.timestamp_millis();
                if ms <= after || ms > now {
                    if ms > now {
                        cursor = t;
                        inclusive = false;
                        continue;
                    }
                    break;
                }
                out.push(ms);
                cursor = t;
                inclusive = false;
            }
        }
    }
    let more = out.len() > n;
    out.truncate(n);
    out.reverse();
    Ok((out, more))
}

/// The next `count` fire times after `from`, for `stem schedule dry-run`.
pub fn upcoming(spec: &Spec, since: i64, from: i64, count: usize) -> Result<Vec<i64>, DueError> {
    let mut out = Vec::with_capacity(count);
    let mut after = from - 1;
    while out.len() < count {
        match next_after(spec, since, after)? {
            Some(t) => {
                out.push(t);
                after = t;
            }
            None => break,
        }
    }
    Ok(out)
}

fn utc(ms: i64) -> Result<DateTime<Utc>, DueError> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .ok_or_else(|| DueError(format!("time {ms} ms is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stem_protocol::schedule::{format_time, parse_time};

    fn cron(expr: &str, tz: &str) -> Spec {
        Spec::Cron {
            expr: expr.into(),
            timezone: tz.into(),
        }
    }

    fn t(text: &str) -> i64 {
        parse_time(text).unwrap()
    }

    fn times(v: &[i64]) -> Vec<String> {
        v.iter().map(|ms| format_time(*ms)).collect()
    }

    #[test]
    fn every_is_aligned_to_its_anchor() {
        let spec = Spec::Every {
            every_ms: 30_000,
            anchor: Some(t("2026-01-01T00:00:10Z")),
        };
        let got = upcoming(&spec, 0, t("2026-03-01T12:00:00Z"), 3).unwrap();
        assert_eq!(
            times(&got),
            [
                "2026-03-01T12:00:10Z",
                "2026-03-01T12:00:40Z",
                "2026-03-01T12:01:10Z"
            ]
        );
        let since = Spec::Every {
            every_ms: 1000,
            anchor: None,
        };
        assert_eq!(next_after(&since, 5_500, 0).unwrap(), Some(5_500));
        assert_eq!(next_after(&since, 5_500, 5_500).unwrap(), Some(6_500));
    }

    #[test]
    fn spring_forward_fires_a_gap_time_once() {
        // Europe/Paris, 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
        let spec = cron("30 2 * * *", "Europe/Paris");
        let got = upcoming(&spec, 0, t("2026-03-27T12:00:00Z"), 4).unwrap();
        assert_eq!(
            times(&got),
            [
                "2026-03-28T01:30:00Z", // 02:30 CET
                "2026-03-29T01:00:00Z", // the first instant after the gap: 03:00 CEST
                "2026-03-30T00:30:00Z", // 02:30 CEST
                "2026-03-31T00:30:00Z",
            ]
        );
    }

    #[test]
    fn fall_back_fires_an_overlap_time_once() {
        // Europe/Paris, 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        let spec = cron("30 2 * * *", "Europe/Paris");
        let got = upcoming(&spec, 0, t("2026-10-24T12:00:00Z"), 3).unwrap();
        assert_eq!(
            times(&got),
            [
                "2026-10-25T00:30:00Z", // the first 02:30 (CEST) only
                "2026-10-26T01:30:00Z", // 02:30 CET the next day
                "2026-10-27T01:30:00Z",
            ]
        );
        // Catch-up over the same night, counted backwards, agrees: one fire that night.
        let (due, more) = latest_due(
            &spec,
            0,
            t("2026-10-24T12:00:00Z"),
            t("2026-10-25T12:00:00Z"),
            10,
        )
        .unwrap();
        assert_eq!(
            (times(&due), more),
            (vec!["2026-10-25T00:30:00Z".into()], false)
        );
    }

    #[test]
    fn hourly_wildcards_follow_real_time_across_dst() {
        // New York, 2026-11-01: 01:xx happens twice; an every-30-minutes job runs in both.
        let spec = cron("*/30 * * * *", "America/New_York");
        let got = upcoming(&spec, 0, t("2026-11-01T05:00:00Z"), 4).unwrap();
        assert_eq!(
            times(&got),
            [
                "2026-11-01T05:00:00Z", // 01:00 EDT
                "2026-11-01T05:30:00Z",
                "2026-11-01T06:00:00Z", // 01:00 EST
                "2026-11-01T06:30:00Z",
            ]
        );
    }

    #[test]
    fn six_fields_have_seconds_and_at_fires_once() {
        let spec = cron("*/15 * * * * *", "UTC");
        let got = upcoming(&spec, 0, t("2026-01-01T00:00:01Z"), 2).unwrap();
        assert_eq!(
            times(&got),
            ["2026-01-01T00:00:15Z", "2026-01-01T00:00:30Z"]
        );
        let at = Spec::At {
            at: t("2026-12-24T18:00:00Z"),
        };
        assert_eq!(upcoming(&at, 0, 0, 5).unwrap().len(), 1);
        assert_eq!(next_after(&at, 0, t("2026-12-24T18:00:00Z")).unwrap(), None);
    }

    #[test]
    fn latest_due_bounds_the_window() {
        let spec = Spec::Every {
            every_ms: 1000,
            anchor: Some(0),
        };
        let (due, more) = latest_due(&spec, 0, 10_000, 20_500, 3).unwrap();
        assert_eq!((due, more), (vec![18_000, 19_000, 20_000], true));
        let (due, more) = latest_due(&spec, 0, 17_000, 20_500, 3).unwrap();
        assert_eq!((due, more), (vec![18_000, 19_000, 20_000], false));
        let (due, _) = latest_due(&spec, 0, 20_000, 20_500, 3).unwrap();
        assert!(due.is_empty());
        let c = cron("* * * * * *", "UTC");
        let (due, more) = latest_due(&c, 0, 10_000, 13_000, 5).unwrap();
        assert_eq!((due, more), (vec![11_000, 12_000, 13_000], false));
    }
}
