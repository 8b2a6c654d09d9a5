//! Task specs: the JSON a producer sends for one task (`{"task": "add", "args": [2, 3], ...}`),
//! as the HTTP API and `stem enqueue --stdin` take it, turned into [`EnqueueOptions`] with
//! errors that name the field (`args: expected a JSON array`). A body holds one spec, a JSON
//! array of them, or JSON lines; a batch is checked whole before anything is published, then
//! published in one call.

use super::enqueue::{envelope, EnqueueOptions, Enqueued, Start};
use super::time::parse_rfc3339;
use super::{OpsError, OpsResult};
use crate::manifest::LoadedManifest;
use serde_json::{Map, Value};
use std::time::Duration;
use stem_adapters::Adapters;
use stem_protocol::duration::parse_duration;
use stem_protocol::envelope::MAX_PRIORITY;
use stem_protocol::{TaskEnvelope, TaskState};

/// The most tasks one batch may hold.
pub const MAX_BATCH: usize = 10_000;

/// The fields a spec may have.
pub const FIELDS: &[&str] = &[
    "task",
    "args",
    "kwargs",
    "queue",
    "countdown",
    "eta",
    "priority",
    "max_retries",
    "headers",
    "id",
    "unique_key",
    "unique_for",
    "expires",
    "time_limit",
    "soft_time_limit",
    "ignore_result",
    "fair_key",
    "fair_weight",
];

/// How the body was written: one spec answers with one task, the others with a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    One,
    Many,
}

/// A JSON number that is a whole number >= 0 (`5`, or `5.0`, which JSON Schema counts as the
/// integer 5).
pub fn whole(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

fn invalid(field: &str, message: impl Into<String>) -> OpsError {
    OpsError::InvalidSpec {
        field: field.to_string(),
        message: message.into(),
    }
}

/// The specs in `body`: one JSON value, a JSON array of values, or JSON lines.
pub fn parse_body(body: &[u8]) -> OpsResult<(Shape, Vec<Value>)> {
    let mut values = Vec::new();
    for value in serde_json::Deserializer::from_slice(body).into_iter::<Value>() {
        let value = value.map_err(|e| invalid("body", format!("malformed JSON: {e}")))?;
        values.push(value);
    }
    let (shape, specs) = match values.len() {
        0 => {
            return Err(invalid(
                "body",
                "empty: expected a task spec, an array or JSON lines",
            ))
        }
        1 => match values.pop() {
            Some(Value::Array(items)) => (Shape::Many, items),
            Some(one) => (Shape::One, vec![one]),
            None => unreachable!("one value"),
        },
        _ => (Shape::Many, values),
    };
    if specs.len() > MAX_BATCH {
        return Err(OpsError::TooManyTasks {
            max: MAX_BATCH,
            got: specs.len(),
        });
    }
    Ok((shape, specs))
}

/// The options one spec asks for.
pub fn options(spec: &Value) -> OpsResult<EnqueueOptions> {
    let Value::Object(map) = spec else {
        return Err(invalid(
            "task spec",
            "expected a JSON object like {\"task\": \"NAME\", \"args\": []}",
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid(
            unknown,
            format!("unknown field (known: {})", FIELDS.join(", ")),
        ));
    }
    let task = match map.get("task") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err(invalid("task", "expected a non-empty string")),
        None => return Err(invalid("task", "missing: every spec names its task")),
    };
    let mut o = EnqueueOptions::new(task);
    for (field, value) in map {
        apply(&mut o, field, value, map)?;
    }
    if o.unique_for.is_some() && o.unique_key.is_none() {
        return Err(invalid(
            "unique_for",
            "a dedup window needs its unique_key (give both)",
        ));
    }
    Ok(o)
}

fn apply(
    o: &mut EnqueueOptions,
    field: &str,
    value: &Value,
    map: &Map<String, Value>,
) -> OpsResult<()> {
    if value.is_null() {
        // Leave a field out for its default; null is no value of any field's type.
        return Err(invalid(
            field,
            "null is not a value here: leave the field out",
        ));
    }
    match field {
        "args" => {
            o.args = value
                .as_array()
                .cloned()
                .ok_or_else(|| invalid(field, "expected a JSON array"))?
        }
        "kwargs" => {
            o.kwargs = value
                .as_object()
                .cloned()
                .ok_or_else(|| invalid(field, "expected a JSON object"))?
        }
        "unique_key" => {
            let key = value
                .as_str()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| invalid(field, "expected a non-empty string"))?;
            o.unique_key = Some(key.to_string());
        }
        "fair_key" => {
            let key = value
                .as_str()
                .filter(|s| {
                    !s.is_empty() && s.chars().count() <= stem_protocol::envelope::MAX_KEY_CHARS
                })
                .ok_or_else(|| invalid(field, "expected a string of 1 to 256 characters"))?;
            o.fair_key = Some(key.to_string());
        }
        "fair_weight" => {
            let w = whole(value)
                .filter(|w| (1..=100).contains(w))
                .ok_or_else(|| invalid(field, "expected an integer from 1 to 100"))?;
            o.fair_weight = Some(w as u32);
        }
        "unique_for" => {
            o.unique_for = Some(
                countdown(value)
                    .map_err(|_| invalid(field, "expected seconds or a duration like \"10m\""))?,
            )
        }
        "expires" => {
            o.expires = Some(match value {
                Value::String(s) if parse_duration(s).is_err() => {
                    Start::At(eta(value).map_err(|_| {
                        invalid(
                            field,
                            "expected a duration like \"30s\" or an RFC 3339 time",
                        )
                    })?)
                }
                _ => Start::After(countdown(value).map_err(|_| {
                    invalid(
                        field,
                        "expected a duration like \"30s\" or an RFC 3339 time",
                    )
                })?),
            })
        }
        "queue" | "id" => {
            let s = value
                .as_str()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| invalid(field, "expected a non-empty string"))?;
            if field == "queue" {
                o.queue = Some(s.to_string());
            } else {
                o.id = Some(s.to_string());
            }
        }
        "countdown" => {
            if map.contains_key("eta") {
                return Err(invalid(field, "give countdown or eta, not both"));
            }
            o.start = Start::After(countdown(value)?);
        }
        "eta" => o.start = Start::At(eta(value)?),
        "priority" => {
            o.priority = whole(value)
                .filter(|p| *p <= u64::from(MAX_PRIORITY))
                .map(|p| p as u8)
                .ok_or_else(|| invalid(field, "expected an integer from 0 to 9"))?
        }
        "max_retries" => {
            o.max_retries = Some(
                whole(value)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| invalid(field, "expected a non-negative integer"))?,
            )
        }
        "time_limit" | "soft_time_limit" => {
            let d = value
                .as_f64()
                .filter(|s| *s > 0.0)
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| invalid(field, "expected seconds, a number above 0"))?;
            if field == "time_limit" {
                o.overrides.time_limit = Some(d);
            } else {
                o.overrides.soft_time_limit = Some(d);
            }
        }
        "ignore_result" => {
            o.overrides.ignore_result = value
                .as_bool()
                .ok_or_else(|| invalid(field, "expected true or false"))?
        }
        "headers" => {
            let map = value
                .as_object()
                .ok_or_else(|| invalid(field, "expected a JSON object of strings"))?;
            for (k, v) in map {
                let v = v
                    .as_str()
                    .ok_or_else(|| invalid(&format!("headers.{k}"), "expected a string"))?;
                o.headers.insert(k.clone(), v.to_string());
            }
        }
        _ => {}
    }
    Ok(())
}

fn countdown(value: &Value) -> OpsResult<Duration> {
    let bad = || {
        invalid(
            "countdown",
            "expected seconds (a number >= 0) or a duration like \"5s\"",
        )
    };
    let d = match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(bad)?,
        Value::String(s) => parse_duration(s).map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    // The longest delay anything takes (10 years), for a countdown, a dedup window or expiry.
    super::enqueue::check_delay(d).map_err(|_| bad())?;
    Ok(d)
}

fn eta(value: &Value) -> OpsResult<i64> {
    match value {
        Value::Number(_) => whole(value)
            .and_then(|ms| i64::try_from(ms).ok())
            .ok_or_else(|| invalid("eta", "expected epoch milliseconds or an RFC 3339 time")),
        Value::String(s) => parse_rfc3339(s).map_err(|e| invalid("eta", e)),
        _ => Err(invalid(
            "eta",
            "expected epoch milliseconds or an RFC 3339 time",
        )),
    }
}

/// The envelopes for `specs`, each checked (against `manifest` when given); the first bad one
/// fails the whole batch, named by its index when there are several.
pub fn envelopes(
    shape: Shape,
    specs: &[Value],
    manifest: Option<&LoadedManifest>,
) -> OpsResult<Vec<TaskEnvelope>> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            options(spec)
                .and_then(|o| envelope(&o, manifest))
                .map_err(|e| match shape {
                    Shape::One => e,
                    Shape::Many => OpsError::InBatch {
                        index: i,
                        source: Box::new(e),
                    },
                })
        })
        .collect()
}

/// Publishes `envelopes` in one broker call (those `manifest` debounces join their bursts
/// instead, one store call each: [`super::debounce`]).
pub async fn publish_all(
    adapters: &Adapters,
    manifest: Option<&LoadedManifest>,
    envelopes: &[TaskEnvelope],
) -> OpsResult<Vec<Enqueued>> {
    for (index, env) in envelopes.iter().enumerate() {
        super::enqueue::check_payload(adapters, env).map_err(|e| OpsError::InBatch {
            index,
            source: Box::new(e),
        })?;
    }
    let mut out = Vec::with_capacity(envelopes.len());
    let mut fresh = Vec::with_capacity(envelopes.len());
    for env in envelopes {
        if let Some(debounce) = super::debounce::of(manifest, env) {
            out.push(Some(
                super::debounce::publish(adapters, &debounce, env).await?,
            ));
            continue;
        }
        match super::unique::claim(adapters, env).await? {
            Some(held) => out.push(Some(
                super::enqueue::duplicate(adapters, held, &env.queue).await?,
            )),
            None => {
                out.push(None);
                fresh.push(env.clone());
            }
        }
    }
    if let Err(e) = adapters.broker.publish(&fresh).await {
        for env in &fresh {
            let _ = super::unique::release(adapters, env).await;
        }
        return Err(e.into());
    }
    for env in &fresh {
        super::unique::reset_record(adapters, env).await;
    }
    Ok(envelopes
        .iter()
        .zip(out)
        .map(|(env, dup)| {
            dup.unwrap_or_else(|| Enqueued {
                id: env.id.clone(),
                queue: env.queue.clone(),
                state: TaskState::Pending,
                duplicate: false,
            })
        })
        .collect())
}

#[cfg(test)]
#[path = "specs_tests.rs"]
mod tests;
