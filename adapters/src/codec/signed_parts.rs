//! Signatures over what a store keeps besides envelopes and records that still decides what
//! runs: a group member's result (a chord body's input) and a schedule (what `stem beat`
//! fires). Both are signed over the canonical form of their stored JSON minus `signature`, like
//! envelopes; a member's signature also binds its group and index, so a signed result cannot be
//! moved to another group or member.

use super::keys::Security;
use super::{sign_value, verify_value};
use serde_json::{json, Value};

const MEMBER_KEY: &str = "$member";

/// `stored` (a member's result as stored, sealed as configured) wrapped with its signature.
pub(super) fn sign_member(sec: &Security, group: &str, index: u32, stored: String) -> String {
    if sec.signing.is_none() {
        return stored;
    }
    let value: Value = serde_json::from_str(&stored).unwrap_or(Value::Null);
    let mut wrapped = json!({ MEMBER_KEY: {"group": group, "index": index, "value": value} });
    match sign_value(sec, &wrapped) {
        Some(sig) => {
            wrapped["signature"] = Value::String(sig);
            wrapped.to_string()
        }
        None => stored,
    }
}

/// A stored member result with its signature checked and taken off: the value as stored
/// (still sealed as configured). Refused when the signature is missing (unless
/// `STEM_SIGNING_ALLOW_UNSIGNED`), wrong, or made for another group or member.
pub(super) fn verify_member(
    sec: Option<&Security>,
    group: &str,
    index: usize,
    raw: &str,
) -> Result<String, String> {
    let v: Value =
        serde_json::from_str(raw).map_err(|e| format!("unreadable group result: {e}"))?;
    let wrapped = v.as_object().filter(|o| {
        o.contains_key(MEMBER_KEY) && o.keys().all(|k| k == MEMBER_KEY || k == "signature")
    });
    let Some((sec, signing)) = sec.and_then(|s| s.signing.as_ref().map(|g| (s, g))) else {
        // No keys here: a result a signing process wrote is unwrapped, unchecked.
        return Ok(match wrapped {
            Some(o) => o[MEMBER_KEY]["value"].to_string(),
            None => raw.to_string(),
        });
    };
    let Some(o) = wrapped else {
        if signing.allow_unsigned {
            return Ok(raw.to_string());
        }
        return Err(
            "signature: missing (signing is required; this group result is unsigned)".into(),
        );
    };
    verify_value(sec, &v)?;
    let m = &o[MEMBER_KEY];
    if m["group"].as_str() != Some(group) || m["index"].as_u64() != Some(index as u64) {
        return Err("signature: the result was signed for another group member".into());
    }
    Ok(m["value"].to_string())
}

/// A schedule's stored JSON with its signature added (when this process signs).
pub(super) fn sign_schedule(sec: &Security, stored: String) -> String {
    let Ok(mut v) = serde_json::from_str::<Value>(&stored) else {
        return stored;
    };
    match sign_value(sec, &v) {
        Some(sig) => {
            v["signature"] = Value::String(sig);
            v.to_string()
        }
        None => stored,
    }
}

/// A stored schedule with its signature checked and taken off. Refused like a record: missing
/// (unless `STEM_SIGNING_ALLOW_UNSIGNED`) or wrong; the error names the schedule.
pub(super) fn verify_schedule(sec: &Security, raw: &str) -> Result<String, String> {
    let mut v: Value =
        serde_json::from_str(raw).map_err(|e| format!("unreadable schedule: {e}"))?;
    let Some(signing) = &sec.signing else {
        strip_signature(&mut v);
        return Ok(v.to_string());
    };
    let id = v["id"].as_str().unwrap_or("?").to_string();
    let unsigned = v.get("signature").is_none_or(Value::is_null);
    if !(unsigned && signing.allow_unsigned) {
        verify_value(sec, &v).map_err(|e| {
            if unsigned {
                format!("schedule {id}: signature: missing (signing is required; this schedule is unsigned)")
            } else {
                format!("schedule {id}: {e}")
            }
        })?;
    }
    strip_signature(&mut v);
    Ok(v.to_string())
}

fn strip_signature(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("signature");
    }
}
