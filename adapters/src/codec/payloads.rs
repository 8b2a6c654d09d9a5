//! Sealing what a task carries or produces outside its envelope's arguments and its record: an
//! envelope's follow-ups (canvas and links), event data (progress, reasons), a dead letter's
//! error, group member results (a chord body's input) and a schedule's arguments. Each is one
//! AES-256-GCM ciphertext under the configured keys whose associated data names the kind of
//! payload and the task (or group, or schedule) it belongs to, so a ciphertext moved elsewhere
//! fails to open. Readers with the keys get the plaintext back; readers without see the sealed
//! form. Without encryption configured every function here leaves its input as it is.

use super::keys::{Sealing, Security};
use crate::{DeadLetter, TaskEvent};
use serde_json::{json, Map, Value};
use stem_protocol::schedule::Schedule;
use stem_protocol::{TaskEnvelope, TaskError};

/// The JSON key a sealed value stands under where a plain value would be (group member
/// results, a schedule's arguments).
pub const SEALED_KEY: &str = "$sealed";

fn aad(kind: &str, parts: &[&str]) -> Vec<u8> {
    let mut out = format!("stem-{kind}");
    for p in parts {
        out.push('\0');
        out.push_str(p);
    }
    out.into_bytes()
}

fn seal_json(sealing: &Sealing, value: &Value, aad: &[u8]) -> String {
    sealing.seal(value.to_string().as_bytes(), aad)
}

fn open_json(sealing: &Sealing, sealed: &str, aad: &[u8], what: &str) -> Result<Value, String> {
    let plain = sealing.open(sealed, aad)?;
    serde_json::from_slice(&plain)
        .map_err(|e| format!("encryption: sealed {what} is not JSON ({e})"))
}

/// `{"$sealed": "KEY:BASE64"}`'s ciphertext, when `v` is exactly that.
fn sealed_marker(v: &Value) -> Option<&str> {
    let obj = v.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    obj.get(SEALED_KEY)?.as_str()
}

/// `value` sealed as `{"$sealed": ...}`, bound to `kind` and `parts` (workflow payloads).
pub(super) fn seal_value(sealing: &Sealing, value: &Value, kind: &str, parts: &[&str]) -> Value {
    json!({ SEALED_KEY: seal_json(sealing, value, &aad(kind, parts)) })
}

/// What [`seal_value`] sealed; a value that is not sealed is returned as it is.
pub(super) fn open_value(
    sealing: &Sealing,
    stored: &Value,
    kind: &str,
    parts: &[&str],
) -> Result<Value, String> {
    match sealed_marker(stored) {
        Some(sealed) => open_json(sealing, sealed, &aad(kind, parts), "workflow data"),
        None => Ok(stored.clone()),
    }
}

/// Whether `v` is a sealed value.
pub(super) fn is_sealed(v: &Value) -> bool {
    sealed_marker(v).is_some()
}

// --- envelopes: the follow-ups ride in the same ciphertext as the arguments ---

/// The plaintext sealed into an envelope's `sealed`: its arguments and its follow-ups.
pub(super) fn envelope_plain(env: &mut TaskEnvelope) -> Value {
    let mut plain =
        json!({"args": std::mem::take(&mut env.args), "kwargs": std::mem::take(&mut env.kwargs)});
    if let Some(canvas) = env.canvas.take() {
        plain["canvas"] = serde_json::to_value(canvas).unwrap_or(Value::Null);
    }
    plain
}

/// Puts back what [`envelope_plain`] took out.
pub(super) fn restore_envelope(env: &mut TaskEnvelope, plain: &Value) -> Result<(), String> {
    env.args = plain["args"].as_array().cloned().unwrap_or_default();
    env.kwargs = plain["kwargs"].as_object().cloned().unwrap_or_default();
    if let Some(canvas) = plain.get("canvas").filter(|c| !c.is_null()) {
        env.canvas =
            Some(serde_json::from_value(canvas.clone()).map_err(|e| {
                format!("encryption: sealed follow-ups are not a continuation ({e})")
            })?);
    }
    Ok(())
}

/// Whether an unsealed envelope carries anything that should have been sealed.
pub(super) fn envelope_has_plain(env: &TaskEnvelope) -> bool {
    !env.args.is_empty() || !env.kwargs.is_empty() || env.canvas.is_some()
}

// --- events ---

/// An event with its data sealed (bound to its task id and kind).
pub fn seal_event(sec: Option<&Security>, event: &TaskEvent) -> TaskEvent {
    let mut e = event.clone();
    let Some(sealing) = sec.and_then(|s| s.sealing.as_ref()) else {
        return e;
    };
    if e.sealed.is_none() && !e.data.is_null() {
        let data = std::mem::take(&mut e.data);
        e.sealed = Some(seal_json(
            sealing,
            &data,
            &aad("event", &[&e.task_id, &e.kind]),
        ));
    }
    e
}

/// An event with its data opened when this process holds the key (left sealed otherwise).
pub fn open_event(sec: Option<&Security>, mut e: TaskEvent) -> TaskEvent {
    let (Some(sealing), Some(sealed)) = (sec.and_then(|s| s.sealing.as_ref()), e.sealed.as_deref())
    else {
        return e;
    };
    if let Ok(data) = open_json(
        sealing,
        sealed,
        &aad("event", &[&e.task_id, &e.kind]),
        "event",
    ) {
        e.data = data;
        e.sealed = None;
    }
    e
}

// --- dead letters: the error is sealed, the reason (a category) stays readable ---

pub(super) fn seal_letter(sealing: &Sealing, letter: &mut DeadLetter) {
    if let Some(error) = letter.error.take() {
        let v = serde_json::to_value(&error).unwrap_or(Value::Null);
        letter.sealed_error = Some(seal_json(sealing, &v, &aad("dead-letter", &[&letter.id])));
    }
}

pub(super) fn open_letter(sealing: &Sealing, letter: &mut DeadLetter) {
    let Some(sealed) = letter.sealed_error.as_deref() else {
        return;
    };
    let opened = open_json(sealing, sealed, &aad("dead-letter", &[&letter.id]), "error")
        .and_then(|v| serde_json::from_value::<TaskError>(v).map_err(|e| e.to_string()));
    if let Ok(error) = opened {
        letter.error = Some(error);
        letter.sealed_error = None;
    }
}

// --- group member results ---

/// A member's result as stored: sealed to the group id and the member's index.
pub fn encode_member(sec: Option<&Security>, group: &str, index: u32, result: &Value) -> String {
    match sec.and_then(|s| s.sealing.as_ref()) {
        Some(sealing) => {
            let sealed = seal_json(sealing, result, &aad("group", &[group, &index.to_string()]));
            json!({ SEALED_KEY: sealed }).to_string()
        }
        None => result.to_string(),
    }
}

/// A stored member result, opened (an error when it is sealed and this process cannot open it:
/// a chord body must not run on a placeholder).
pub fn decode_member(
    sec: Option<&Security>,
    group: &str,
    index: usize,
    raw: &str,
) -> Result<Value, String> {
    let v: Value =
        serde_json::from_str(raw).map_err(|e| format!("unreadable group result: {e}"))?;
    let Some(sealed) = sealed_marker(&v) else {
        return Ok(v);
    };
    let sealing = sec.and_then(|s| s.sealing.as_ref()).ok_or(
        "encryption: a group member's result is sealed and no STEM_ENCRYPTION_KEYS are set",
    )?;
    open_json(
        sealing,
        sealed,
        &aad("group", &[group, &index.to_string()]),
        "group result",
    )
}

// --- schedules: their arguments are sealed, the rest (spec, queue) stays readable ---

pub fn encode_schedule(sec: Option<&Security>, schedule: &Schedule) -> Schedule {
    let mut s = schedule.clone();
    let Some(sealing) = sec.and_then(|s| s.sealing.as_ref()) else {
        return s;
    };
    if s.args.len() == 1 && s.kwargs.is_empty() && sealed_marker(&s.args[0]).is_some() {
        return s; // still sealed (read without the key): kept as it is
    }
    let plain =
        json!({"args": std::mem::take(&mut s.args), "kwargs": std::mem::take(&mut s.kwargs)});
    let sealed = seal_json(sealing, &plain, &aad("schedule", &[&s.id, &s.task]));
    s.args = vec![json!({ SEALED_KEY: sealed })];
    s.kwargs = Map::new();
    s
}

pub fn decode_schedule(sec: Option<&Security>, mut s: Schedule) -> Schedule {
    let Some(sealing) = sec.and_then(|s| s.sealing.as_ref()) else {
        return s;
    };
    let sealed = match (s.args.as_slice(), s.kwargs.is_empty()) {
        ([one], true) => sealed_marker(one).map(str::to_string),
        _ => None,
    };
    if let Some(sealed) = sealed {
        if let Ok(plain) = open_json(
            sealing,
            &sealed,
            &aad("schedule", &[&s.id, &s.task]),
            "schedule",
        ) {
            s.args = plain["args"].as_array().cloned().unwrap_or_default();
            s.kwargs = plain["kwargs"].as_object().cloned().unwrap_or_default();
        }
    }
    s
}

#[cfg(test)]
#[path = "payloads_tests.rs"]
mod tests;
