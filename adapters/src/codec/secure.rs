//! Protecting and opening envelopes and records: seal, then sign. A signature covers the whole
//! stored JSON object but its `signature` member, in the canonical form of [`super::canonical`]
//! (PROTOCOL.md, "Signing"), so every field — canvas, links, headers, eta, priority, queue,
//! expiry, attempt, the sealed ciphertext, and any field added later or by someone else — is
//! covered. Readers verify the stored bytes as parsed, before opening anything. Sealing replaces
//! the arguments (or a record's result, errors, progress, stderr and arguments) with one
//! ciphertext whose associated data is the task's id, name and, for an envelope, its attempt.
//!
//! An envelope or record that verified has its `signature` cleared in memory: it is trusted, and
//! writing it again (a retry, a release, a replay) signs the new stored form. One that still
//! carries a signature was not verified here and is passed on as it is, never re-signed, so
//! nothing a store writer planted is laundered by a process that holds the key.

use super::canonical::signed_form;
use super::keys::{Security, Signing};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use stem_protocol::{TaskEnvelope, TaskRecord};

fn envelope_aad(env: &TaskEnvelope) -> Vec<u8> {
    format!("stem-envelope\0{}\0{}\0{}", env.id, env.name, env.attempt).into_bytes()
}

/// The signature of `value`'s stored form, when this process can sign.
fn sign_stored<T: serde::Serialize>(signing: &Signing, value: &T) -> Option<String> {
    let v = serde_json::to_value(value).ok()?;
    signing.sign(&signed_form(&v)?)
}

/// Checks the signature of `stored` (the JSON object as read from the store); `what` names it.
fn verify_stored(signing: &Signing, stored: &Value, what: &str) -> Result<(), String> {
    let signature = stored.get("signature").and_then(Value::as_str);
    if signature.is_none() && stored.get("signature").is_none_or(Value::is_null) {
        if signing.allow_unsigned {
            warn_unsigned_once(what);
            return Ok(());
        }
        return Err(format!(
            "signature: missing (signing is required; this {what} is unsigned)"
        ));
    }
    let data =
        signed_form(stored).ok_or_else(|| format!("signature: the {what} is not an object"))?;
    signing.verify(&data, signature)
}

fn warn_unsigned_once(what: &str) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "accepted an unsigned {what} because STEM_SIGNING_ALLOW_UNSIGNED=true; turn it off \
             once every producer and worker signs (this warning is logged once)"
        );
    }
}

pub(super) fn protect_envelope(sec: &Security, env: &TaskEnvelope) -> TaskEnvelope {
    let mut env = env.clone();
    if let (Some(sealing), None) = (&sec.sealing, &env.sealed) {
        let plain = super::payloads::envelope_plain(&mut env).to_string();
        env.sealed = Some(sealing.seal(plain.as_bytes(), &envelope_aad(&env)));
    }
    if let (Some(signing), None) = (&sec.signing, &env.signature) {
        env.signature = sign_stored(signing, &env);
    }
    env
}

/// Verifies `stored` (the envelope's JSON object as read) for `env` (parsed from it).
pub(super) fn verify_envelope(
    sec: &Security,
    stored: &Value,
    mut env: TaskEnvelope,
) -> Result<TaskEnvelope, String> {
    if let Some(signing) = &sec.signing {
        verify_stored(signing, stored, "task")?;
        env.signature = None;
    }
    Ok(env)
}

/// Opens a verified envelope's sealed arguments (and requires them sealed with encryption on).
pub(super) fn open_envelope(sec: &Security, mut env: TaskEnvelope) -> Result<TaskEnvelope, String> {
    if let Some(sealed) = env.sealed.as_deref() {
        let sealing = sec
            .sealing
            .as_ref()
            .ok_or("encryption: the task is sealed and no STEM_ENCRYPTION_KEYS are set")?;
        let plain = sealing.open(sealed, &envelope_aad(&env))?;
        let v: Value = serde_json::from_slice(&plain)
            .map_err(|e| format!("encryption: sealed arguments are not JSON ({e})"))?;
        super::payloads::restore_envelope(&mut env, &v)?;
        env.sealed = None;
    } else if sec.sealing.is_some() && super::payloads::envelope_has_plain(&env) {
        return Err(
            "encryption: the task's arguments are not sealed (encryption is required)".into(),
        );
    }
    Ok(env)
}

fn record_aad(r: &TaskRecord) -> Vec<u8> {
    format!("stem-record\0{}\0{}", r.id, r.name).into_bytes()
}

pub(super) fn protect_record(sec: &Security, record: &TaskRecord) -> TaskRecord {
    let mut r = record.clone();
    if let (Some(sealing), None) = (&sec.sealing, &r.sealed) {
        let plain = json!({
            "result": r.result.take(), "error": r.error.take(), "errors": std::mem::take(&mut r.errors),
            "progress": r.progress.take(), "stderr": r.stderr.take(),
            "args": std::mem::take(&mut r.args), "kwargs": std::mem::take(&mut r.kwargs),
        })
        .to_string();
        r.sealed = Some(sealing.seal(plain.as_bytes(), &record_aad(&r)));
    }
    if let (Some(signing), None) = (&sec.signing, &r.signature) {
        r.signature = sign_stored(signing, &r);
    }
    r
}

/// Verifies `stored` (the record's JSON object as read) and opens `r` (parsed from it).
pub(super) fn open_record(
    sec: &Security,
    stored: &Value,
    mut r: TaskRecord,
) -> Result<TaskRecord, String> {
    if let Some(signing) = &sec.signing {
        verify_stored(signing, stored, "record")?;
        r.signature = None;
    }
    if let Some(sealed) = r.sealed.as_deref() {
        let Some(sealing) = &sec.sealing else {
            // No key here: the record shows its state and times, its contents stay sealed.
            return Ok(r);
        };
        let plain = sealing.open(sealed, &record_aad(&r))?;
        let v: Value = serde_json::from_slice(&plain)
            .map_err(|e| format!("encryption: sealed record is not JSON ({e})"))?;
        let field = |k: &str| v.get(k).cloned().filter(|x| !x.is_null());
        r.result = field("result");
        r.error = field("error").and_then(|e| serde_json::from_value(e).ok());
        r.errors = field("errors")
            .and_then(|e| serde_json::from_value(e).ok())
            .unwrap_or_default();
        r.progress = field("progress");
        r.stderr = field("stderr").and_then(|s| s.as_str().map(str::to_string));
        r.args = field("args")
            .and_then(|a| a.as_array().cloned())
            .unwrap_or_default();
        r.kwargs = field("kwargs")
            .and_then(|k| k.as_object().cloned())
            .unwrap_or_default();
        r.sealed = None;
    }
    Ok(r)
}
