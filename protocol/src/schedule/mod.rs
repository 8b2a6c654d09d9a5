//! The schedule schema: `[schedules.NAME]` tables in `stem.toml` (or a file of them) and the
//! validated [`Schedule`] that schedule stores keep and `stem beat` fires.
//!
//! A table names a manifest task and exactly one spec: `every = "30s"` (an interval aligned to
//! `anchor`, default the time the schedule was first applied), `cron = "*/5 * * * *"` (five
//! fields, or six with seconds first) in `timezone` (IANA, default `UTC`), or `at = TIME` (one
//! fire, RFC 3339). Parsing is strict: every problem is a [`ScheduleError`] naming the schedule
//! and the field, in one line. Task names are checked against a manifest separately
//! ([`check_task`]), since a file of schedules may come without the tasks.

use chrono::{DateTime, SecondsFormat, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde::{Deserialize, Serialize};

mod entry;
pub use entry::{check_task, DurationText, ScheduleEntry};
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
    pub(crate) fn new(schedule: &str, field: &str, message: impl Into<String>) -> Self {
        ScheduleError {
            schedule: schedule.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }
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
