//! Protecting and opening envelopes and records. Signatures cover what the producer decided —
//! an envelope's id, name, arguments and creation time; a record's id, state, result and error —
//! in a canonical JSON form, so a worker can publish the next attempt of a task without the
//! signing key. Sealing replaces the arguments (or a record's result and errors) with one
//! ciphertext (a record's arguments too) whose associated data is the task's id, name and, for an envelope, its attempt.

use super::keys::Security;
use serde_json::{json, Value};
use stem_protocol::{TaskEnvelope, TaskRecord};

fn canonical_envelope(env: &TaskEnvelope) -> Vec<u8> {
    json!({"id": env.id, "name": env.name, "args": env.args, "kwargs": env.kwargs, "created_at": env.created_at})
        .to_string()
        .into_bytes()
}

fn envelope_aad(env: &TaskEnvelope) -> Vec<u8> {
    format!("stem-envelope\0{}\0{}\0{}", env.id, env.name, env.attempt).into_bytes()
}

pub(super) fn protect_envelope(sec: &Security, env: &TaskEnvelope) -> TaskEnvelope {
    let mut env = env.clone();
    if env.sealed.is_some() {
        // Still sealed (this process could not open it): pass it on as it is.
        return env;
    }
    if let Some(signing) = &sec.signing {
        if let Some(sig) = signing.sign(&canonical_envelope(&env)) {
            env.signature = Some(sig);
        }
    }
    if let Some(sealing) = &sec.sealing {
        let plain = super::payloads::envelope_plain(&mut env).to_string();
        env.sealed = Some(sealing.seal(plain.as_bytes(), &envelope_aad(&env)));
    }
    env
}

pub(super) fn open_envelope(sec: &Security, mut env: TaskEnvelope) -> Result<TaskEnvelope, String> {
    if let Some(sealed) = env.sealed.take() {
        let sealing = sec
            .sealing
            .as_ref()
            .ok_or("encryption: the task is sealed and no STEM_ENCRYPTION_KEYS are set")?;
        let plain = sealing.open(&sealed, &envelope_aad(&env))?;
        let v: Value = serde_json::from_slice(&plain)
            .map_err(|e| format!("encryption: sealed arguments are not JSON ({e})"))?;
        super::payloads::restore_envelope(&mut env, &v)?;
    } else if sec.sealing.is_some() && super::payloads::envelope_has_plain(&env) {
        return Err(
            "encryption: the task's arguments are not sealed (encryption is required)".into(),
        );
    }
    if let Some(signing) = &sec.signing {
        signing.verify(&canonical_envelope(&env), env.signature.as_deref())?;
    }
    Ok(env)
}

fn canonical_record(r: &TaskRecord) -> Vec<u8> {
    json!({"id": r.id, "state": r.state, "result": r.result, "error": r.error})
        .to_string()
        .into_bytes()
}

fn record_aad(r: &TaskRecord) -> Vec<u8> {
    format!("stem-record\0{}\0{}", r.id, r.name).into_bytes()
}

pub(super) fn protect_record(sec: &Security, record: &TaskRecord) -> TaskRecord {
    let mut r = record.clone();
    if r.sealed.is_some() {
        return r;
    }
    if let Some(signing) = &sec.signing {
        if let Some(sig) = signing.sign(&canonical_record(&r)) {
            r.signature = Some(sig);
        }
    }
    if let Some(sealing) = &sec.sealing {
        let plain = json!({
            "result": r.result.take(), "error": r.error.take(), "errors": std::mem::take(&mut r.errors),
            "progress": r.progress.take(), "stderr": r.stderr.take(),
            "args": std::mem::take(&mut r.args), "kwargs": std::mem::take(&mut r.kwargs),
        })
        .to_string();
        r.sealed = Some(sealing.seal(plain.as_bytes(), &record_aad(&r)));
    }
    r
}

pub(super) fn open_record(sec: &Security, mut r: TaskRecord) -> Result<TaskRecord, String> {
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
    if let Some(signing) = &sec.signing {
        // Records written before signing was turned on, or by a process without the key, have
        // none: only a signature that is there and wrong is refused.
        if r.signature.is_some() {
            signing.verify(&canonical_record(&r), r.signature.as_deref())?;
        }
    }
    Ok(r)
}
