//! `[schedules.NAME]` as written in TOML, and its strict conversion to a [`Schedule`]: exactly one
//! spec, valid cron and time zone, durations and times that parse, a known catch-up policy; and
//! the check of a schedule's task against a manifest's tasks.

use super::{
    parse_cron, parse_time, parse_timezone, CatchUp, Schedule, ScheduleError, Spec,
    DEFAULT_MAX_CATCH_UP, MIN_EVERY,
};
use crate::duration::parse_duration;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::fire_task_id;
    use crate::schedule::format_time;

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
