//! The one codec: task envelopes, records and dead letters to and from the bytes every backend
//! stores, and "decode or Malformed" for what a broker delivers. Backends call only these, so
//! payload security is applied here once for all of them: with signing configured, envelopes
//! and records are sealed, then signed over their whole stored JSON object (see [`canonical`])
//! by whoever writes them, and verified on reading before anything is opened — a task whose
//! signature is missing, wrong or by an unknown key is delivered as malformed (and
//! dead-lettered with the reason), a record is refused; with encryption configured, arguments
//! and results are sealed with AES-256-GCM, bound to the task's id and name (and, for
//! envelopes, the attempt), so a ciphertext moved to another task fails to open.

pub mod canonical;
mod crypto;
pub mod keys;
pub mod payloads;
mod sealed_control;
mod secure;
mod signed_parts;
pub mod sql_trust;
mod workflow;

pub use workflow::Owner;

pub use keys::Security;
pub use sealed_control::sealed_control;

use crate::{AdapterError, DeadLetter, Payload, Result};
use serde_json::Value;
use std::sync::OnceLock;
use stem_protocol::{TaskEnvelope, TaskError, TaskRecord};

static SECURITY: OnceLock<Security> = OnceLock::new();

/// Installs the process's payload security (once, at start; later calls are ignored and say so).
pub fn configure(security: Security) -> bool {
    SECURITY.set(security).is_ok()
}

fn security() -> Option<&'static Security> {
    SECURITY.get().filter(|s| !s.is_empty())
}

/// Whether encryption is configured: what a task carries or produces is then sealed in every
/// store, and kept out of logs and telemetry unless the operator opts in.
pub fn sealing_on() -> bool {
    security().is_some_and(|s| s.sealing.is_some())
}

/// Whether signing is configured but this process cannot sign (Ed25519 with public keys only):
/// what it would write nobody accepts, so read-only commands write nothing.
pub fn cannot_sign() -> bool {
    security()
        .and_then(|s| s.signing.as_ref())
        .is_some_and(|g| !g.can_sign())
}

/// The stored form of an envelope (signed and sealed as configured).
pub fn encode_envelope(env: &TaskEnvelope) -> String {
    match security() {
        Some(sec) => secure::protect_envelope(sec, env).to_json(),
        None => env.to_json(),
    }
}

/// What a broker delivers for `raw`: the task (verified, then opened, as configured), or why it
/// is not one (kept with the raw text).
pub fn decode_payload(raw: String) -> Payload {
    let env = match TaskEnvelope::from_json(&raw) {
        Ok(env) => env,
        Err(reason) => return Payload::Malformed { raw, reason },
    };
    let Some(sec) = security() else {
        return Payload::Task(Box::new(env));
    };
    if sec.trust_sql && sql_trust::written_by_sql(&env) {
        return Payload::Task(Box::new(env));
    }
    let id = env.id.clone();
    let opened = stored_value(sec, &raw)
        .and_then(|stored| secure::verify_envelope(sec, &stored, env))
        .and_then(|env| secure::open_envelope(sec, env));
    match opened {
        Ok(env) => Payload::Task(Box::new(env)),
        Err(reason) => Payload::Malformed {
            raw,
            reason: format!("{reason} (task {id})"),
        },
    }
}

/// The stored JSON as a generic value (what a signature covers: unknown fields included), or
/// `Null` when no signature is checked here.
fn stored_value(sec: &Security, raw: &str) -> std::result::Result<Value, String> {
    if sec.signing.is_none() {
        return Ok(Value::Null);
    }
    serde_json::from_str(raw).map_err(|e| format!("malformed: {e}"))
}

/// Like [`decode_payload`], for bytes that may not be UTF-8.
pub fn decode_payload_bytes(bytes: &[u8]) -> Payload {
    match std::str::from_utf8(bytes) {
        Ok(raw) => decode_payload(raw.to_string()),
        Err(_) => Payload::Malformed {
            raw: String::from_utf8_lossy(bytes).into_owned(),
            reason: "malformed task envelope: not UTF-8".to_string(),
        },
    }
}

/// The stored form of a record (sealed and signed as configured). Its `generation` comes first
/// in the JSON (see [`TaskRecord`]).
pub fn encode_record(record: &TaskRecord) -> String {
    match security() {
        Some(sec) => secure::protect_record(sec, record).to_json(),
        None => record.to_json(),
    }
}

/// A stored record, verified and opened as configured; `id` names it in the error.
pub fn decode_record(id: &str, raw: &str) -> Result<TaskRecord> {
    let record = TaskRecord::from_json(raw)
        .map_err(|e| AdapterError::permanent(format!("record of task {id}: {e}")))?;
    open_record(raw, record).map_err(|e| AdapterError::refused(format!("record of task {id}: {e}")))
}

fn open_record(raw: &str, record: TaskRecord) -> std::result::Result<TaskRecord, String> {
    match security() {
        Some(sec) => secure::open_record(sec, &stored_value(sec, raw)?, record),
        None => Ok(record),
    }
}

/// A stored record for a listing: like [`decode_record`], except that a record that fails its
/// signature (or cannot be opened) is listed as refused rather than failing the whole listing:
/// its id, name, queue and times as stored, state `failure`, no contents, and an error of type
/// `SignatureRefused` (or `EncryptionRefused`) saying why. Reading it alone is refused.
pub fn decode_listed_record(id: &str, raw: &str) -> Result<TaskRecord> {
    let record = TaskRecord::from_json(raw)
        .map_err(|e| AdapterError::permanent(format!("record of task {id}: {e}")))?;
    match open_record(raw, record.clone()) {
        Ok(record) => Ok(record),
        Err(reason) => Ok(refused(record, reason)),
    }
}

fn refused(stored: TaskRecord, reason: String) -> TaskRecord {
    let kind = if reason.starts_with("signature") {
        "SignatureRefused"
    } else {
        "EncryptionRefused"
    };
    let mut r = TaskRecord::pending(&TaskEnvelope {
        id: stored.id,
        name: stored.name,
        queue: stored.queue,
        attempt: stored.attempt.max(1),
        created_at: stored.created_at,
        ..TaskEnvelope::new("refused")
    });
    r.state = stem_protocol::TaskState::Failure;
    r.generation = stored.generation;
    r.updated_at = stored.updated_at;
    r.error = Some(TaskError::new(kind, reason).permanent());
    r
}

/// The signature `value` (an object: an envelope or record as stored) gets from `sec`'s active
/// key over its canonical form without `signature`; `None` when `sec` cannot sign.
pub fn sign_value(sec: &Security, value: &Value) -> Option<String> {
    sec.signing.as_ref()?.sign(&canonical::signed_form(value)?)
}

/// Checks `value`'s `signature` member against `sec`'s keys, as every reader does.
pub fn verify_value(sec: &Security, value: &Value) -> std::result::Result<(), String> {
    let signing = sec.signing.as_ref().ok_or("signature: no signing keys")?;
    let data = canonical::signed_form(value).ok_or("signature: not a JSON object")?;
    signing.verify(&data, value.get("signature").and_then(Value::as_str))
}

/// The stored form of a dead letter: its envelope protected like any other.
pub fn encode_letter(letter: &DeadLetter) -> Result<String> {
    match (security(), &letter.envelope) {
        (Some(sec), env) => {
            let mut letter = letter.clone();
            letter.envelope = env.as_ref().map(|env| secure::protect_envelope(sec, env));
            if let Some(sealing) = &sec.sealing {
                payloads::seal_letter(sealing, &mut letter);
            }
            encode("dead letter", &letter)
        }
        _ => encode("dead letter", letter),
    }
}

/// A stored dead letter, its envelope verified and opened. One that fails its signature is
/// left as stored (so a replay passes it on unchanged in substance, and workers refuse it
/// again); one that verifies but cannot be opened here (no encryption key) stays sealed and is
/// trusted, so a replay re-signs it.
pub fn decode_letter(raw: &str) -> Result<DeadLetter> {
    let mut letter: DeadLetter = decode("dead letter", raw)?;
    if let Some(sec) = security() {
        if let Some(env) = letter.envelope.take() {
            let stored = stored_value(sec, raw)
                .map(|v| v.get("envelope").cloned().unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            letter.envelope = Some(match secure::verify_envelope(sec, &stored, env.clone()) {
                Ok(verified) => secure::open_envelope(sec, verified.clone()).unwrap_or(verified),
                Err(_) => env,
            });
        }
        if let Some(sealing) = &sec.sealing {
            payloads::open_letter(sealing, &mut letter);
        }
    }
    Ok(letter)
}

/// The stored form of a group member's result (sealed to the group and index, then signed, as
/// configured).
pub fn encode_member(group: &str, index: u32, result: &serde_json::Value) -> String {
    let stored = payloads::encode_member(security(), group, index, result);
    match security() {
        Some(sec) => signed_parts::sign_member(sec, group, index, stored),
        None => stored,
    }
}

/// A stored group member's result, verified and opened as configured.
pub fn decode_member(group: &str, index: usize, raw: &str) -> Result<serde_json::Value> {
    let fail = |e: String| AdapterError::permanent(format!("group {group} member {index}: {e}"));
    let raw = signed_parts::verify_member(security(), group, index, raw).map_err(fail)?;
    payloads::decode_member(security(), group, index, &raw).map_err(fail)
}

/// The stored form of a schedule (its arguments sealed, then the whole signed, as configured).
pub fn encode_schedule(schedule: &stem_protocol::schedule::Schedule) -> Result<String> {
    let stored = encode("schedule", &payloads::encode_schedule(security(), schedule))?;
    Ok(match security() {
        Some(sec) => signed_parts::sign_schedule(sec, stored),
        None => stored,
    })
}

/// A stored schedule, verified and its arguments opened as configured.
pub fn decode_schedule(raw: &str) -> Result<stem_protocol::schedule::Schedule> {
    let raw = match security() {
        Some(sec) => signed_parts::verify_schedule(sec, raw).map_err(AdapterError::permanent)?,
        None => raw.to_string(),
    };
    Ok(payloads::decode_schedule(
        security(),
        decode("schedule", &raw)?,
    ))
}

/// A workflow payload's stored form (sealed and signed, bound to `owner`, as configured).
pub fn encode_wf(owner: &Owner, value: &serde_json::Value) -> String {
    workflow::encode(security(), owner, value)
}

/// A stored workflow payload, verified and opened as configured.
pub fn decode_wf(owner: &Owner, raw: &str) -> Result<serde_json::Value> {
    workflow::decode(security(), owner, raw)
        .map_err(|e| AdapterError::permanent(format!("{owner:?}: {e}")))
}

/// The JSON of anything else a backend stores (revocations, control messages).
pub fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| AdapterError::permanent(format!("{what}: {e}")))
}

pub fn decode<T: serde::de::DeserializeOwned>(what: &str, raw: &str) -> Result<T> {
    serde_json::from_str(raw)
        .map_err(|e| AdapterError::permanent(format!("unreadable {what}: {e}")))
}

#[cfg(test)]
mod tests;
