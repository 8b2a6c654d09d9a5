//! The codec with signing and encryption: round trips, tampering, a ciphertext moved to another
//! task, rotation, missing signatures.

use super::keys::Security;
use super::secure::{protect_envelope, protect_record};
use crate::Payload;
use base64::Engine;
use serde_json::json;
use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sec(vars: &[(&str, String)]) -> Security {
    Security::from_vars(&|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .expect("valid settings")
}

fn hmac_and_aes(active: &str) -> Security {
    sec(&[
        (
            "STEM_SIGNING_KEYS",
            format!("k1:{},k2:{}", b64(b"secret-one"), b64(b"secret-two")),
        ),
        ("STEM_SIGNING_ACTIVE_KEY", active.to_string()),
        ("STEM_ENCRYPTION_KEYS", format!("e1:{}", b64(&[7u8; 32]))),
    ])
}

/// What a worker does with stored bytes: verify the JSON as stored, then open.
fn open_envelope(s: &Security, env: TaskEnvelope) -> Result<TaskEnvelope, String> {
    let stored: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
    let env = super::secure::verify_envelope(s, &stored, env)?;
    super::secure::open_envelope(s, env)
}

fn open_record(s: &Security, r: TaskRecord) -> Result<TaskRecord, String> {
    let stored: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    super::secure::open_record(s, &stored, r)
}

fn task() -> TaskEnvelope {
    let mut env = TaskEnvelope::new("charge");
    env.args = vec![json!("card-4242"), json!(100)];
    env
}

#[test]
fn a_signed_sealed_envelope_opens_and_hides_its_arguments() {
    let s = hmac_and_aes("k1");
    let env = task();
    let stored = protect_envelope(&s, &env);
    let json = stored.to_json();
    assert!(!json.contains("card-4242"), "plaintext in {json}");
    assert!(stored
        .signature
        .as_deref()
        .unwrap()
        .starts_with("hmac-sha256:k1:"));
    let back = open_envelope(&s, TaskEnvelope::from_json(&json).unwrap()).unwrap();
    assert_eq!(back.args, env.args);
}

#[test]
fn tampering_moving_and_missing_signatures_are_refused() {
    let s = hmac_and_aes("k1");
    let unsealed = sec(&[("STEM_SIGNING_KEYS", format!("k1:{}", b64(b"secret-one")))]);
    // Changed arguments (signing only, so they are in the clear to change).
    let mut changed = protect_envelope(&unsealed, &task());
    changed.args[1] = json!(1_000_000);
    let e = open_envelope(&unsealed, changed).unwrap_err();
    assert!(e.starts_with("signature: does not match"), "{e}");
    // No signature at all.
    let e = open_envelope(&unsealed, task()).unwrap_err();
    assert!(e.starts_with("signature: missing"), "{e}");
    // A ciphertext copied onto another task.
    let a = protect_envelope(&s, &task());
    let mut b = protect_envelope(&s, &task());
    b.sealed = a.sealed.clone();
    let e = open_envelope(&s, b.clone()).unwrap_err();
    assert!(e.starts_with("signature: does not match"), "{e}");
    // Even signed again by a key holder, the ciphertext is bound to its own task.
    b.signature = None;
    let e = open_envelope(&s, protect_envelope(&s, &b)).unwrap_err();
    assert!(e.starts_with("encryption: cannot decrypt"), "{e}");
    // Plain arguments where encryption is required.
    let e = open_envelope(&s, protect_envelope(&unsealed, &task())).unwrap_err();
    assert!(e.contains("not sealed"), "{e}");
}

#[test]
fn rotation_verifies_old_keys_and_signs_with_the_new_one() {
    let old = protect_envelope(&hmac_and_aes("k1"), &task());
    let now = hmac_and_aes("k2");
    assert!(
        open_envelope(&now, old).is_ok(),
        "signed with the old key still opens"
    );
    let new = protect_envelope(&now, &task());
    assert!(new
        .signature
        .as_deref()
        .unwrap()
        .starts_with("hmac-sha256:k2:"));
}

#[test]
fn ed25519_readers_verify_without_the_private_key_and_cannot_write() {
    let seed = [9u8; 32];
    let public = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    let producer = sec(&[("STEM_SIGNING_PRIVATE_KEYS", format!("p1:{}", b64(&seed)))]);
    let reader = sec(&[("STEM_SIGNING_PUBLIC_KEYS", format!("p1:{}", b64(&public)))]);
    let signed = protect_envelope(&producer, &task());
    let opened = open_envelope(&reader, signed).unwrap();
    // A retry changes the stored form: only a holder of a private key can sign it.
    let mut next = opened.clone();
    next.attempt = 2;
    let unsigned = protect_envelope(&reader, &next);
    let e = open_envelope(&reader, unsigned).unwrap_err();
    assert!(e.starts_with("signature: missing"), "{e}");
    assert!(producer.check_can_sign().is_ok());
    let e = reader.check_can_sign().unwrap_err();
    assert!(e.starts_with("STEM_SIGNING_PRIVATE_KEYS"), "{e}");
    let resigned = protect_envelope(&producer, &next);
    assert_eq!(open_envelope(&reader, resigned).unwrap().attempt, 2);
}

#[test]
fn every_field_is_covered_and_unknown_fields_too() {
    let s = hmac_and_aes("k1");
    let stored = protect_envelope(&s, &task());
    let v: serde_json::Value = serde_json::from_str(&stored.to_json()).unwrap();
    let mut variants: Vec<serde_json::Value> = Vec::new();
    for key in v.as_object().unwrap().keys().filter(|k| *k != "signature") {
        let mut t = v.clone();
        t[key] = match &v[key] {
            serde_json::Value::Number(n) => json!(n.as_i64().unwrap_or(0) + 1),
            serde_json::Value::String(x) => json!(format!("{x}x")),
            serde_json::Value::Object(_) => json!({"x": "y"}),
            serde_json::Value::Array(_) => json!([1]),
            _ => json!(1),
        };
        variants.push(t);
    }
    let mut extra = v.clone();
    extra["canvas"] = json!({"canvas_id": "c", "next": []});
    variants.push(extra);
    let mut unknown = v.clone();
    unknown["later_field"] = json!(true);
    variants.push(unknown);
    // A writer to the broker raising a limit or dropping the result: refused like any edit.
    for (key, value) in [
        ("time_limit_ms", json!(315_360_000_000u64)),
        ("soft_time_limit_ms", json!(1)),
        ("ignore_result", json!(true)),
        ("max_retries", json!(1_000_000)),
    ] {
        let mut t = v.clone();
        t[key] = value;
        variants.push(t);
    }
    for t in variants {
        let env: TaskEnvelope = match serde_json::from_value(t.clone()) {
            Ok(env) => env,
            Err(_) => continue,
        };
        let e = super::secure::verify_envelope(&s, &t, env).unwrap_err();
        assert!(e.starts_with("signature: does not match"), "{t}: {e}");
    }
    let env = TaskEnvelope::from_json(&stored.to_json()).unwrap();
    assert!(super::secure::verify_envelope(&s, &v, env).is_ok());
}

#[test]
fn unsigned_is_accepted_only_when_migrating() {
    let key = format!("k1:{}", b64(b"secret-one"));
    let strict = sec(&[("STEM_SIGNING_KEYS", key.clone())]);
    let migrating = sec(&[
        ("STEM_SIGNING_KEYS", key),
        ("STEM_SIGNING_ALLOW_UNSIGNED", "true".into()),
    ]);
    let r = TaskRecord::pending(&task());
    assert!(open_record(&strict, r.clone())
        .unwrap_err()
        .starts_with("signature: missing"));
    assert!(open_record(&migrating, r.clone()).is_ok());
    assert!(open_envelope(&migrating, task()).is_ok());
    let mut wrong = protect_record(&strict, &r);
    wrong.attempt = 7;
    assert!(
        open_record(&migrating, wrong).is_err(),
        "a wrong one stays refused"
    );
}

#[test]
fn records_are_sealed_and_signed() {
    let s = hmac_and_aes("k2");
    let mut r = TaskRecord::pending(&task());
    r.state = TaskState::Success;
    r.result = Some(json!({"receipt": "rcpt-secret"}));
    let stored = protect_record(&s, &r);
    assert!(!stored.to_json().contains("rcpt-secret"));
    let back = open_record(&s, TaskRecord::from_json(&stored.to_json()).unwrap()).unwrap();
    assert_eq!(back.result, r.result);
    let mut forged = stored.clone();
    forged.state = TaskState::Failure;
    assert!(
        open_record(&s, forged).is_err(),
        "a changed state breaks the signature"
    );
}

#[test]
fn bad_settings_name_the_variable() {
    let e = Security::from_vars(&|k| (k == "STEM_ENCRYPTION_KEYS").then(|| "e1:short".to_string()))
        .err()
        .unwrap();
    assert!(e.starts_with("STEM_ENCRYPTION_KEYS"), "{e}");
    let e = Security::from_vars(&|k| (k == "STEM_SIGNING_ALGORITHM").then(|| "md5".to_string()))
        .err()
        .unwrap();
    assert!(e.starts_with("STEM_SIGNING_ALGORITHM"), "{e}");
}

#[test]
fn garbage_is_malformed_with_its_text() {
    match super::decode_payload("{nope".into()) {
        Payload::Malformed { raw, reason } => {
            assert_eq!(raw, "{nope");
            assert!(reason.contains("malformed"), "{reason}");
        }
        other => panic!("decoded garbage: {other:?}"),
    }
    let mut r = TaskRecord::pending(&TaskEnvelope::new("t"));
    r.generation = 42;
    assert!(super::encode_record(&r).starts_with("{\"generation\":42,"));
}
