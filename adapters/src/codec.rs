//! The one codec: task envelopes and records to and from the bytes every backend stores, and
//! "decode or Malformed" for what a broker delivers. Backends call only these, so a signing or
//! encryption layer wraps this module once instead of every backend.

use crate::{AdapterError, Payload, Result};
use stem_protocol::{TaskEnvelope, TaskRecord};

/// The stored form of an envelope.
pub fn encode_envelope(env: &TaskEnvelope) -> String {
    env.to_json()
}

/// What a broker delivers for `raw`: the task, or why it is not one (kept with the raw text).
pub fn decode_payload(raw: String) -> Payload {
    match TaskEnvelope::from_json(&raw) {
        Ok(env) => Payload::Task(env),
        Err(reason) => Payload::Malformed { raw, reason },
    }
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

/// The stored form of a record. Its `generation` comes first in the JSON (see [`TaskRecord`]).
pub fn encode_record(record: &TaskRecord) -> String {
    record.to_json()
}

/// A stored record; `id` names it in the error.
pub fn decode_record(id: &str, raw: &str) -> Result<TaskRecord> {
    TaskRecord::from_json(raw)
        .map_err(|e| AdapterError::permanent(format!("record of task {id}: {e}")))
}

/// The JSON of anything else a backend stores (dead letters, revocations, control messages).
pub fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| AdapterError::permanent(format!("{what}: {e}")))
}

pub fn decode<T: serde::de::DeserializeOwned>(what: &str, raw: &str) -> Result<T> {
    serde_json::from_str(raw)
        .map_err(|e| AdapterError::permanent(format!("unreadable {what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_starts_with_its_generation() {
        let mut r = TaskRecord::pending(&TaskEnvelope::new("t"));
        r.generation = 42;
        assert!(encode_record(&r).starts_with("{\"generation\":42,"));
        r.generation = 0;
        assert!(encode_record(&r).starts_with("{\"id\":"));
    }

    #[test]
    fn garbage_is_malformed_with_its_text() {
        match decode_payload("{nope".into()) {
            Payload::Malformed { raw, reason } => {
                assert_eq!(raw, "{nope");
                assert!(reason.contains("malformed"), "{reason}");
            }
            other => panic!("decoded garbage: {other:?}"),
        }
        assert!(matches!(
            decode_payload_bytes(&[0xff]),
            Payload::Malformed { .. }
        ));
    }
}
