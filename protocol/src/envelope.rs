//! The task envelope: what a producer publishes and a broker carries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, the unit of every timestamp in the protocol.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Microseconds since the Unix epoch (lease generations).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A fresh, random task id (UUID v4).
pub fn new_task_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The default queue name.
pub const DEFAULT_QUEUE: &str = "default";

/// Highest priority value; priorities run from 0 (lowest, the default) to 9 (highest).
pub const MAX_PRIORITY: u8 = 9;

/// The longest time limit an envelope may carry (ten years, in ms, as the longest delay). An
/// envelope's limits can only lower the manifest's (see [`crate::overrides`]); this bound only
/// keeps the numbers sane.
pub const MAX_TIME_LIMIT_MS: u64 = 10 * 365 * 24 * 3600 * 1000;

/// The largest `fair_weight`.
pub const MAX_FAIR_WEIGHT: u32 = 100;

/// The longest fairness or debounce key, in bytes (a producer's key is at most
/// [`MAX_KEY_CHARS`] characters, which this holds in any UTF-8).
pub const MAX_KEY_LEN: usize = 1024;

/// The longest fairness key a producer may give, in characters.
pub const MAX_KEY_CHARS: usize = 256;

/// One task as published to a broker. Timestamps are Unix epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEnvelope {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub args: Vec<Value>,
    #[serde(default)]
    pub kwargs: Map<String, Value>,
    #[serde(default = "default_queue")]
    pub queue: String,
    /// 0 (lowest, the default) to 9 (highest); higher priorities are fetched first.
    #[serde(default)]
    pub priority: u8,
    /// 1 for the first run, incremented by each retry.
    #[serde(default = "one")]
    pub attempt: u32,
    /// Overrides the manifest's `max_retries` for this task when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// This task's hard time limit (ms), when lower than the manifest's (which it cannot raise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_ms: Option<u64>,
    /// This task's soft time limit (ms), when lower than the manifest's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_time_limit_ms: Option<u64>,
    /// Keep no record of a success (its result is dropped); failures are recorded as usual.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_result: bool,
    /// Not before this time (epoch ms); `None` means as soon as possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<i64>,
    /// Not started by this time (epoch ms): recorded `expired` and never run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub created_at: i64,
    /// Reserved for workflows: the task that spawned this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Reserved for workflows: the group this task belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// For a task of a canvas: its canvas and what follows it (see [`crate::canvas`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canvas: Option<Box<crate::canvas::Continuation>>,
    /// The fairness key: within its queue and priority, tasks with keys are served round-robin
    /// across keys (weighted by `fair_weight`), so a deep backlog of one key cannot starve
    /// another (see `docs/fairness.md`). Stored in clear: the broker orders by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fair_key: Option<String>,
    /// The weight of this task's fairness key (1 to [`MAX_FAIR_WEIGHT`], default 1): a key of
    /// weight 3 gets three turns to one of weight 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fair_weight: Option<u32>,
    /// Set on the one task that stands for a burst of debounced enqueues: the debounce key
    /// whose latest arguments it runs with (see `docs/fairness.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debounce: Option<String>,
    /// `ALGORITHM:KEY_ID:BASE64`, the producer's signature of the task's id, name, arguments and
    /// creation time (set and checked by the codec when signing is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// `KEY_ID:BASE64` of the AES-256-GCM sealed `{"args", "kwargs"}` (which are then empty),
    /// bound to the task's id, name and attempt (when encryption is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

fn default_queue() -> String {
    DEFAULT_QUEUE.to_string()
}

fn one() -> u32 {
    1
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl TaskEnvelope {
    /// A new first-attempt envelope for `name` on the default queue.
    pub fn new(name: impl Into<String>) -> Self {
        TaskEnvelope {
            id: new_task_id(),
            name: name.into(),
            args: Vec::new(),
            kwargs: Map::new(),
            queue: default_queue(),
            priority: 0,
            attempt: 1,
            max_retries: None,
            time_limit_ms: None,
            soft_time_limit_ms: None,
            ignore_result: false,
            eta: None,
            expires_at: None,
            headers: BTreeMap::new(),
            created_at: now_ms(),
            parent_id: None,
            group_id: None,
            canvas: None,
            fair_key: None,
            fair_weight: None,
            debounce: None,
            signature: None,
            sealed: None,
        }
    }

    /// Parses an envelope from broker bytes, with a one-line reason on failure.
    pub fn from_json(raw: &str) -> Result<Self, String> {
        let env: TaskEnvelope =
            serde_json::from_str(raw).map_err(|e| format!("malformed task envelope: {e}"))?;
        env.validate()?;
        Ok(env)
    }

    /// Checks the invariants serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.is_empty() {
            return Err("malformed task envelope: empty id".into());
        }
        if self.name.is_empty() {
            return Err(format!(
                "malformed task envelope {}: empty task name",
                self.id
            ));
        }
        if self.queue.is_empty() {
            return Err(format!("malformed task envelope {}: empty queue", self.id));
        }
        if self.priority > MAX_PRIORITY {
            return Err(format!(
                "malformed task envelope {}: priority {} is above {MAX_PRIORITY}",
                self.id, self.priority
            ));
        }
        if self.attempt == 0 {
            return Err(format!("malformed task envelope {}: attempt 0", self.id));
        }
        if let Some(w) = self.fair_weight.filter(|w| *w == 0 || *w > MAX_FAIR_WEIGHT) {
            return Err(format!(
                "malformed task envelope {}: fair_weight {w} is not from 1 to {MAX_FAIR_WEIGHT}",
                self.id
            ));
        }
        for (field, value) in [("fair_key", &self.fair_key), ("debounce", &self.debounce)] {
            if let Some(key) = value
                .as_ref()
                .filter(|k| k.is_empty() || k.len() > MAX_KEY_LEN)
            {
                return Err(format!(
                    "malformed task envelope {}: {field} is {} bytes long (1 to {MAX_KEY_LEN})",
                    self.id,
                    key.len()
                ));
            }
        }
        for (field, value) in [
            ("time_limit_ms", self.time_limit_ms),
            ("soft_time_limit_ms", self.soft_time_limit_ms),
        ] {
            if let Some(ms) = value.filter(|ms| *ms == 0 || *ms > MAX_TIME_LIMIT_MS) {
                return Err(format!(
                    "malformed task envelope {}: {field} {ms} is not from 1 to {MAX_TIME_LIMIT_MS} (ten years)",
                    self.id
                ));
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serializes")
    }

    /// True when the envelope should not run yet at `now` (epoch ms).
    pub fn is_delayed(&self, now: i64) -> bool {
        self.eta.is_some_and(|eta| eta > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_uuid_shaped() {
        let a = new_task_id();
        let b = new_task_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn minimal_envelope_gets_defaults() {
        let env = TaskEnvelope::from_json(r#"{"id":"t1","name":"add","created_at":1}"#).unwrap();
        assert_eq!(env.queue, "default");
        assert_eq!(env.attempt, 1);
        assert!(env.args.is_empty());
    }

    #[test]
    fn malformed_envelope_names_the_problem() {
        let err = TaskEnvelope::from_json(r#"{"id":"t1"}"#).unwrap_err();
        assert!(err.contains("missing field `name`"), "{err}");
        let err = TaskEnvelope::from_json(r#"{"id":"t1","name":"x","priority":12,"created_at":1}"#)
            .unwrap_err();
        assert!(err.contains("priority 12"), "{err}");
    }

    #[test]
    fn time_limits_are_bounded() {
        let base = r#"{"id":"t1","name":"x","created_at":1"#;
        let err = TaskEnvelope::from_json(&format!("{base},\"time_limit_ms\":0}}")).unwrap_err();
        assert!(err.contains("time_limit_ms 0 is not from 1"), "{err}");
        let ten_years = 10 * MAX_TIME_LIMIT_MS;
        let err = TaskEnvelope::from_json(&format!("{base},\"soft_time_limit_ms\":{ten_years}}}"))
            .unwrap_err();
        assert!(err.contains("soft_time_limit_ms"), "{err}");
        let ok = TaskEnvelope::from_json(&format!(
            "{base},\"soft_time_limit_ms\":1000,\"time_limit_ms\":5000,\"ignore_result\":true}}"
        ))
        .unwrap();
        assert!(ok.ignore_result);
        assert_eq!(ok.time_limit_ms, Some(5000));
    }

    #[test]
    fn roundtrip_omits_absent_options() {
        let env = TaskEnvelope::new("add");
        let json = env.to_json();
        assert!(!json.contains("eta"));
        assert!(!json.contains("ignore_result") && !json.contains("time_limit"));
        assert_eq!(TaskEnvelope::from_json(&json).unwrap(), env);
    }
}
