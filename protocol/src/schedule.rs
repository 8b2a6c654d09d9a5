//! The schedule schema: `[schedules.NAME]` tables in `stem.toml` (or a file of them) and the
//! validated [`Schedule`] that schedule stores keep and `stem beat` fires.
//!
//! A table names a manifest task and exactly one spec: `every = "30s"` (an interval aligned to
//! `anchor`, default the time the schedule was first applied), `cron = "*/5 * * * *"` (five
//! fields, or six with seconds first) in `timezone` (IANA, default `UTC`), or `at = TIME` (one
//! fire, RFC 3339). Parsing is strict: every problem is a [`ScheduleError`] naming the schedule
//! and the field, in one line. Task names are checked against a manifest separately
//! ([`check_task`]), since a file of schedules may come without the tasks.

use crate::duration::parse_duration;
use chrono::{DateTime, SecondsFormat, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The header naming the schedule that fired a task.
pub const SCHEDULE_HEADER: &str = "stem-schedule";
/// The header holding the fire time (RFC 3339) of a scheduled task.
pub const FIRE_TIME_HEADER: &str = "stem-fire-time";
/// `max_catch_up` when a schedule sets none.
pub const DEFAULT_MAX_CATCH_UP: u32 = 100;
/// The shortest interval `every` accepts.
pub const MIN_EVERY: Duration = Duration::from_millis(100);

/// What a beat does with fires it missed (it was down, or the store was unreachable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    /// Skip them all.
    None,
    /// One fire, at the latest missed time.
    #[default]
    Latest,
    /// Each missed time, at most `max_catch_up` (the latest ones).
    All,
}

/// When a schedule fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Spec {
    /// Every `every_ms`, at `anchor + k × every` (epoch ms; `None`: aligned to `since`).
    Every {
        every_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        anchor: Option<i64>,
    },
    /// A cron expression evaluated in an IANA time zone.
    Cron { expr: String, timezone: String },
    /// Once, at this time (epoch ms).
    At { at: i64 },
}

/// One validated schedule, as stored and fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: String,
    pub task: String,
    pub spec: Spec,
    #[serde(default)]
    pub args: Vec<Value>,
    #[serde(default)]
    pub kwargs: Map<String, Value>,
    /// The queue; `None`: the manifest's queue for the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default)]
    pub priority: u8,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub enabled: bool,
    /// Each fire is delayed by a random time up to this (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u64>,
    /// A fire not published within this (ms) of its time is dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
    #[serde(default)]
    pub catch_up: CatchUp,
    pub max_catch_up: u32,
    /// Only fire times after this (epoch ms) count: when the schedule was first applied or its
    /// spec last changed. Set by whoever stores it (`stem schedule apply`).
    #[serde(default)]
    pub since: i64,
}

impl Schedule {
    /// A schedule of `task` with `spec` and every other field at its default.
    pub fn new(id: &str, task: &str, spec: Spec) -> Self {
        Schedule {
            id: id.to_string(),
            task: task.to_string(),
            spec,
            args: Vec::new(),
            kwargs: Map::new(),
            queue: None,
            priority: 0,
            headers: BTreeMap::new(),
            enabled: true,
            jitter_ms: None,
            expires_ms: None,
            catch_up: CatchUp::Latest,
            max_catch_up: DEFAULT_MAX_CATCH_UP,
            since: 0,
        }
    }

    /// Whether `other` fires at the same times (so its fire history carries over).
    pub fn same_times(&self, other: &Schedule) -> bool {
        self.spec == other.spec
    }
}

/// A schedule problem: the schedule, the field and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("schedules.{schedule}.{field}: {message}")]
pub struct ScheduleError {
    pub schedule: String,
    pub field: String,
    pub message: String,
}

impl ScheduleError {
    fn new(schedule: &str, field: &str, message: impl Into<String>) -> Self {
        ScheduleError {
            schedule: schedule.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// A duration in TOML: text (`"30s"`) or a number of seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DurationText {
    Seconds(f64),
    Text(String),
}

impl DurationText {
    fn parse(&self) -> Result<Duration, String> {
        match self {
            DurationText::Seconds(n) => Duration::try_from_secs_f64(*n)
                .map_err(|_| format!("invalid duration {n}: must be a number of seconds >= 0")),
            DurationText::Text(t) => parse_duration(t),
        }
    }
}

/// `[schedules.NAME]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEntry {
    pub task: Option<String>,
    pub every: Option<DurationText>,
    pub anchor: Option<String>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub at: Option<String>,
    #[serde(default)]
    pub args: Vec<Value>,
    #[serde(default)]
    pub kwargs: Map<String, Value>,
    pub queue: Option<String>,
    pub priority: Option<u8>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub enabled: Option<bool>,
    pub jitter: Option<DurationText>,
    pub expires: Option<DurationText>,
    pub catch_up: Option<String>,
    pub max_catch_up: Option<u32>,
}

impl ScheduleEntry {
    /// The validated schedule `name` (with `since` 0: the store sets it).
    pub fn to_schedule(&self, name: &str) -> Result<Schedule, ScheduleError> {
        let err = |field: &str, message: String| ScheduleError::new(name, field, message);
        check_id(name).map_err(|m| err("id", m))?;
        let task = match self.task.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => t.to_string(),
            _ => {
                return Err(err(
                    "task",
                    "missing: name the manifest task to fire".into(),
                ))
            }
        };
        let specs = [self.every.is_some(), self.cron.is_some(), self.at.is_some()];
        if specs.iter().filter(|s| **s).count() != 1 {
            let field = if specs.iter().any(|s| *s) {
                "spec"
            } else {
                "every"
            };
            return Err(err(
                field,
                "set exactly one of `every`, `cron` or `at`".to_string(),
            ));
        }
        if self.timezone.is_some() && self.cron.is_none() {
            return Err(err(
                "timezone",
                "only a `cron` schedule has a time zone".into(),
            ));
        }
        if self.anchor.is_some() && self.every.is_none() {
            return Err(err(
                "anchor",
                "only an `every` schedule has an anchor".into(),
            ));
        }
        let spec = if let Some(every) = &self.every {
            let d = every.parse().map_err(|m| err("every", m))?;
            if d < MIN_EVERY {
                return Err(err(
                    "every",
                    format!("{d:?} is too short: at least {MIN_EVERY:?}"),
                ));
            }
            let anchor = self
                .anchor
                .as_deref()
                .map(parse_time)
                .transpose()
                .map_err(|m| err("anchor", m))?;
            Spec::Every {
                every_ms: d.as_millis() as u64,
                anchor,
            }
        } else if let Some(expr) = &self.cron {
            parse_cron(expr).map_err(|m| err("cron", m))?;
            let timezone = self.timezone.clone().unwrap_or_else(|| "UTC".into());
            parse_timezone(&timezone).map_err(|m| err("timezone", m))?;
            Spec::Cron {
                expr: expr.trim().to_string(),
                timezone,
            }
        } else {
            let at = self.at.as_deref().unwrap_or_default();
            Spec::At {
                at: parse_time(at).map_err(|m| err("at", m))?,
            }
        };
        let priority = self.priority.unwrap_or(0);
        if priority > crate::envelope::MAX_PRIORITY {
            return Err(err(
                "priority",
                format!("{priority} is above {}", crate::envelope::MAX_PRIORITY),
            ));
        }
        if self.queue.as_deref().is_some_and(|q| q.trim().is_empty()) {
            return Err(err("queue", "is empty".into()));
        }
        let millis = |field: &str, d: &Option<DurationText>| {
            d.as_ref()
                .map(|d| d.parse().map(|d| d.as_millis() as u64))
                .transpose()
                .map_err(|m| err(field, m))
        };
        let catch_up = match self.catch_up.as_deref() {
            None | Some("latest") => CatchUp::Latest,
            Some("all") => CatchUp::All,
            Some("none") => CatchUp::None,
            Some(other) => {
                return Err(err(
                    "catch_up",
                    format!("unknown policy {other:?}: use \"none\", \"latest\" or \"all\""),
                ))
            }
        };
        let max_catch_up = self.max_catch_up.unwrap_or(DEFAULT_MAX_CATCH_UP);
        if max_catch_up == 0 {
            return Err(err("max_catch_up", "must be at least 1".into()));
        }
        Ok(Schedule {
            id: name.to_string(),
            task,
            spec,
            args: self.args.clone(),
            kwargs: self.kwargs.clone(),
            queue: self.queue.clone(),
            priority,
            headers: self.headers.clone(),
            enabled: self.enabled.unwrap_or(true),
            jitter_ms: millis("jitter", &self.jitter)?.filter(|ms| *ms > 0),
            expires_ms: millis("expires", &self.expires)?,
            catch_up,
            max_catch_up,
            since: 0,
        })
    }
}

/// The manifest check: `schedule.task` must be one of `tasks`.
pub fn check_task<'a>(
    schedule: &Schedule,
    mut tasks: impl Iterator<Item = &'a String> + Clone,
) -> Result<(), ScheduleError> {
    if tasks.clone().any(|t| *t == schedule.task) {
        return Ok(());
    }
    let known: Vec<&str> = tasks.by_ref().map(String::as_str).collect();
    Err(ScheduleError::new(
        &schedule.id,
        "task",
        format!(
            "unknown task {:?} (the manifest names {})",
            schedule.task,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ),
    ))
}

/// A schedule id: not empty, no whitespace, quotes or control characters.
fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("a schedule needs a name".into());
    }
    if id
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\'')
    {
        return Err(format!("invalid schedule name {id:?}: no spaces or quotes"));
    }
    Ok(())
}

/// Parses a cron expression: five fields, or six with seconds first.
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    let fields = expr.split_whitespace().count();
    let nickname = expr.trim_start().starts_with('@');
    if !nickname && !(5..=6).contains(&fields) {
        return Err(format!(
            "invalid cron expression {expr:?}: {fields} fields, expected 5 (minute hour day month \
             weekday) or 6 (seconds first)"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| format!("invalid cron expression {expr:?}: {e}"))
}

/// Parses an IANA time zone name (`Europe/Paris`, `UTC`).
pub fn parse_timezone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("unknown time zone {name:?}: use an IANA name like \"Europe/Paris\""))
}

/// Parses an RFC 3339 time to epoch ms.
pub fn parse_time(text: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            format!("invalid time {text:?}: {e} (expected RFC 3339, e.g. 2026-12-24T18:00:00Z)")
        })
}

/// Epoch ms as RFC 3339 in UTC, with a fraction only when there is one.
pub fn format_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| ms.to_string())
}

/// The id of the task fired by `schedule` at `fire_time`: the same for every beat, so a
/// duplicate is visible anywhere downstream.
pub fn fire_task_id(schedule: &str, fire_time: i64) -> String {
    format!("{schedule}@{}", format_time(fire_time))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(toml_text: &str) -> ScheduleEntry {
        toml::from_str(toml_text).expect("entry parses")
    }

    #[test]
    fn specs_parse() {
        let s = entry("task = \"t\"\nevery = \"30s\"\n")
            .to_schedule("a")
            .unwrap();
        assert_eq!(
            s.spec,
            Spec::Every {
                every_ms: 30_000,
                anchor: None
            }
        );
        assert_eq!(s.catch_up, CatchUp::Latest);
        let s = entry("task = \"t\"\ncron = \"0 30 2 * * *\"\ntimezone = \"Europe/Paris\"\n")
            .to_schedule("b")
            .unwrap();
        assert!(matches!(s.spec, Spec::Cron { ref timezone, .. } if timezone == "Europe/Paris"));
        let s = entry("task = \"t\"\nat = \"2026-12-24T18:00:00Z\"\ncatch_up = \"all\"\n")
            .to_schedule("c")
            .unwrap();
        assert_eq!(
            s.spec,
            Spec::At {
                at: 1_798_135_200_000
            }
        );
        assert_eq!(format_time(1_798_135_200_000), "2026-12-24T18:00:00Z");
        assert_eq!(format_time(1_798_135_200_250), "2026-12-24T18:00:00.250Z");
    }

    #[test]
    fn errors_name_schedule_and_field() {
        let cases = [
            (
                "task = \"t\"\ncron = \"61 * * * *\"\n",
                "schedules.x.cron: ",
            ),
            ("task = \"t\"\ncron = \"* * *\"\n", "schedules.x.cron: "),
            (
                "task = \"t\"\ncron = \"* * * * *\"\ntimezone = \"Mars/Base\"\n",
                "schedules.x.timezone: unknown time zone",
            ),
            (
                "task = \"t\"\nevery = \"5 parsecs\"\n",
                "schedules.x.every: ",
            ),
            ("task = \"t\"\n", "schedules.x.every: set exactly one"),
            (
                "task = \"t\"\nevery = 1\nat = \"x\"\n",
                "schedules.x.spec: ",
            ),
            ("every = \"1s\"\n", "schedules.x.task: missing"),
            (
                "task = \"t\"\nat = \"tomorrow\"\n",
                "schedules.x.at: invalid time",
            ),
            (
                "task = \"t\"\nevery = \"1s\"\ncatch_up = \"some\"\n",
                "schedules.x.catch_up: ",
            ),
        ];
        for (text, want) in cases {
            let e = entry(text).to_schedule("x").unwrap_err().to_string();
            assert!(e.starts_with(want), "{text:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn unknown_task_is_named() {
        let s = Schedule::new("x", "nope", Spec::At { at: 0 });
        let tasks = ["a".to_string(), "b".to_string()];
        let e = check_task(&s, tasks.iter()).unwrap_err().to_string();
        assert_eq!(
            e,
            "schedules.x.task: unknown task \"nope\" (the manifest names a, b)"
        );
        assert!(check_task(&Schedule::new("x", "a", Spec::At { at: 0 }), tasks.iter()).is_ok());
    }

    #[test]
    fn stored_form_roundtrips() {
        let s = entry("task = \"t\"\ncron = \"*/5 * * * *\"\nargs = [1]\njitter = \"2s\"\n")
            .to_schedule("r")
            .unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
        assert_eq!(fire_task_id("r", 0), "r@1970-01-01T00:00:00Z");
    }
}
