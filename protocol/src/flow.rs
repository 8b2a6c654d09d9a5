//! A task's flow-control settings from the manifest: `rate_limit = "20/s"` (with an optional
//! `burst`) and `rate_limit_key` (`kwargs.NAME`, `args.N` or `headers.NAME`, one bucket per
//! value), `max_concurrency` (running at once across the fleet), `unique_for` (one live task
//! per task name and arguments for a window) and `expires` (not started by then: `expired`).

use crate::envelope::TaskEnvelope;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// A rate: so many starts per second, read from `N/s`, `N/m` or `N/h`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub text: String,
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Rate, String> {
        let bad = || format!("rate {text:?}: expected N/s, N/m or N/h with N > 0 (e.g. \"20/s\")");
        let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: f64 = count.trim().parse().map_err(|_| bad())?;
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            _ => return Err(bad()),
        };
        if !(count.is_finite() && count > 0.0) {
            return Err(bad());
        }
        Ok(Rate {
            per_second: count / seconds,
            text: text.trim().to_string(),
        })
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A task's flow-control limits after `[defaults]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowLimits {
    pub rate_limit: Option<Rate>,
    /// Starts allowed at once after a quiet spell (default 1).
    pub burst: u32,
    /// Where the bucket's key comes from: `kwargs.NAME`, `args.N` or `headers.NAME`.
    pub rate_limit_key: Option<String>,
    pub max_concurrency: Option<u32>,
    pub unique_for: Option<Duration>,
    pub expires: Option<Duration>,
    /// `max_concurrency` per value of this path.
    pub max_concurrency_key: Option<String>,
    /// Where the fairness key comes from when the producer gave none.
    pub fair_key: Option<String>,
    /// The shared `[limits.NAME]` this task passes, by name.
    pub limits: Vec<(String, crate::fairness::LimitSpec)>,
    pub debounce: Option<crate::fairness::Debounce>,
}

impl FlowLimits {
    /// The token bucket a task of `name` with `env` takes from: one per task, or one per value
    /// of the key (a missing value shares the `-` bucket).
    pub fn bucket(&self, name: &str, env: &TaskEnvelope) -> String {
        match &self.rate_limit_key {
            None => format!("rate:{name}"),
            Some(path) => format!("rate:{name}:{}", key_value(path, env).unwrap_or("-".into())),
        }
    }
}

/// The flow-control fields of one task: the key to blame and what is wrong.
pub fn check_task(task: &crate::manifest::TaskSpec) -> Result<(), (&'static str, String)> {
    if let Some(path) = &task.rate_limit_key {
        check_key_path(path).map_err(|m| ("rate_limit_key", m))?;
        if task.rate_limit.is_none() {
            return Err(("rate_limit_key", "rate_limit_key needs a rate_limit".into()));
        }
    }
    match task.burst {
        Some(0) => return Err(("burst", "burst must be at least 1".into())),
        Some(_) if task.rate_limit.is_none() => {
            return Err(("burst", "burst needs a rate_limit".into()))
        }
        _ => {}
    }
    if task.max_concurrency == Some(0) {
        return Err((
            "max_concurrency",
            "max_concurrency must be at least 1 (remove it for no limit)".into(),
        ));
    }
    if task.unique_for == Some(Duration::ZERO) {
        return Err(("unique_for", "unique_for must be longer than 0s".into()));
    }
    if task.expires == Some(Duration::ZERO) {
        return Err(("expires", "expires must be longer than 0s".into()));
    }
    Ok(())
}

/// Checks a `rate_limit_key` path.
pub fn check_key_path(path: &str) -> Result<(), String> {
    let ok = match path.split_once('.') {
        Some(("kwargs" | "headers", rest)) => !rest.is_empty(),
        Some(("args", n)) => n.parse::<usize>().is_ok(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "rate_limit_key {path:?}: expected kwargs.NAME, args.N or headers.NAME"
        ))
    }
}

pub fn key_value(path: &str, env: &TaskEnvelope) -> Option<String> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match path.split_once('.')? {
        ("kwargs", name) => env.kwargs.get(name).map(text),
        ("args", n) => env.args.get(n.parse::<usize>().ok()?).map(text),
        ("headers", name) => env.headers.get(name).cloned(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rates_parse_per_second_minute_and_hour() {
        assert_eq!("20/s".parse::<Rate>().unwrap().per_second, 20.0);
        assert_eq!("30/m".parse::<Rate>().unwrap().per_second, 0.5);
        assert_eq!("3600 / h".parse::<Rate>().unwrap().per_second, 1.0);
        for bad in ["20", "0/s", "-1/s", "x/s", "5/d", "inf/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn buckets_follow_the_key() {
        let mut env = TaskEnvelope::new("charge");
        env.kwargs = json!({"customer_id": "acme", "n": 7})
            .as_object()
            .unwrap()
            .clone();
        env.args = vec![json!(42)];
        env.headers.insert("tenant".into(), "t1".into());
        let limits = |key: Option<&str>| FlowLimits {
            rate_limit_key: key.map(String::from),
            ..FlowLimits::default()
        };
        assert_eq!(limits(None).bucket("charge", &env), "rate:charge");
        assert_eq!(
            limits(Some("kwargs.customer_id")).bucket("charge", &env),
            "rate:charge:acme"
        );
        assert_eq!(
            limits(Some("kwargs.n")).bucket("charge", &env),
            "rate:charge:7"
        );
        assert_eq!(
            limits(Some("args.0")).bucket("charge", &env),
            "rate:charge:42"
        );
        assert_eq!(
            limits(Some("headers.tenant")).bucket("charge", &env),
            "rate:charge:t1"
        );
        assert_eq!(
            limits(Some("kwargs.none")).bucket("charge", &env),
            "rate:charge:-"
        );
        assert!(check_key_path("kwargs.customer_id").is_ok());
        assert!(check_key_path("args.x").is_err());
        assert!(check_key_path("customer_id").is_err());
    }
}
