//! Hostile writers to the store against signing, on SQLite, Redis and Postgres, with HMAC
//! signing alone and with encryption: a signed task's stored envelope, copied after it ran, is
//! planted back with each of its top-level fields changed (whatever fields the envelope has, so
//! a new one is covered by default), with a `canvas` continuation or other fields added, with
//! another task's signature, or with none: every variant is dead-lettered with a reason starting
//! `signature:` and nothing runs — above all no follow-up with the writer's arguments. A signed
//! record whose signature is deleted, or whose state, result or worker is edited, is refused by
//! `stem result` (one line, non-zero), by the API (`record_refused`) and listed as refused by
//! `stem tasks list`. Follow-ups a worker publishes (a chain) are signed by it and run. A
//! command that writes tasks refuses to start with Ed25519 public keys only.

use base64::Engine;
use serde_json::{json, Value};
use stem_e2e::http::Server;
use stem_e2e::outcomes::dead_letters;
use stem_e2e::store_edit::{insert_envelope, overwrite_record, stored_envelopes, stored_record};
use stem_e2e::stores::{world, Store};
use stem_e2e::{wait_for, Env, Output, PATIENCE};

const MANIFEST: &str = "[tasks.note]\nexec = [\"sh\", \"-c\", \"echo \\\"$STEM_TASK_ID $STEM_ARGS\\\" >> ran.txt\"]\nmax_retries = 0\n";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn keys(sealed: bool) -> Vec<(&'static str, String)> {
    let mut vars = vec![("STEM_SIGNING_KEYS", format!("k1:{}", b64(b"attack secret")))];
    if sealed {
        vars.push(("STEM_ENCRYPTION_KEYS", format!("e1:{}", b64(&[3u8; 32]))));
    }
    vars
}

fn stem(env: &Env, vars: &[(&str, String)], args: &[&str]) -> Output {
    env.stem_with_env(vars, args)
}

fn enqueue(env: &Env, vars: &[(&str, String)], args: &str) -> String {
    let out = stem(env, vars, &["enqueue", "note", "--args", args, "--json"]).success();
    out.json()["id"].as_str().unwrap().to_string()
}

/// Every tampered form of `stored` (a signed envelope as stored), named.
fn variants(stored: &Value, other_signature: &str) -> Vec<(String, Value)> {
    let obj = stored.as_object().expect("an envelope is an object");
    let mut out = Vec::new();
    for (key, value) in obj.iter().filter(|(k, _)| *k != "signature") {
        let changed = match value {
            Value::Number(n) => json!(n.as_u64().unwrap_or(0) + 1),
            Value::String(s) => json!(format!("{s}x")),
            Value::Array(_) => json!(["EVIL-ARG"]),
            Value::Object(_) => json!({"stem-evil": "EVIL-ARG"}),
            Value::Bool(b) => json!(!b),
            Value::Null => json!(1),
        };
        let mut t = stored.clone();
        t[key] = changed;
        out.push((format!("changed {key}"), t));
    }
    let now = stem_now();
    let added = [
        (
            "canvas",
            json!({"canvas_id": "evil", "link": [{"task": "note", "args": ["EVIL-FOLLOWUP"], "immutable": true}]}),
        ),
        ("link", json!([{"task": "note", "args": ["EVIL-FOLLOWUP"]}])),
        ("unknown_field", json!("EVIL")),
        ("eta", json!(now)),
        ("expires_at", json!(now + 3_600_000)),
        ("max_retries", json!(5)),
        ("priority", json!(9)),
        ("queue", json!("other")),
        ("attempt", json!(3)),
        (
            "headers",
            json!({"stem-unique": "x", "traceparent": "00-0-0-01"}),
        ),
    ];
    for (key, value) in added {
        let mut t = stored.clone();
        t[key] = value;
        out.push((format!("set {key}"), t));
    }
    let mut unsigned = stored.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    out.push(("signature deleted".into(), unsigned));
    let mut borrowed = stored.clone();
    borrowed["signature"] = json!(other_signature);
    out.push(("another task's signature".into(), borrowed));
    out
}

fn stem_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn stored_of(env: &Env, store: Store, id: &str) -> Value {
    let raw = stored_envelopes(env, store)
        .into_iter()
        .find(|e| e.contains(id))
        .unwrap_or_else(|| panic!("task {id} is stored"));
    serde_json::from_str(&raw).unwrap()
}

fn scenario(store: Store, sealed: bool) {
    let Some(env) = world(store, MANIFEST, "attacks on signing") else {
        return;
    };
    let vars = keys(sealed);
    // Two signed tasks, copied from the store before anything runs.
    let a = enqueue(&env, &vars, "[\"legit\"]");
    let b = enqueue(&env, &vars, "[\"other\"]");
    let stored = stored_of(&env, store, &a);
    let other_signature = stored_of(&env, store, &b)["signature"]
        .as_str()
        .expect("signed")
        .to_string();
    if sealed {
        assert!(!stored.to_string().contains("legit"), "sealed: {stored}");
    }
    let worker_vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut w = env.worker_with_env(&["--concurrency", "2"], &worker_vars);
    for id in [&a, &b] {
        let out = stem(
            &env,
            &vars,
            &["result", id, "--wait", "--timeout", "60", "--json"],
        );
        assert_eq!(
            out.json()["state"],
            "success",
            "{out:?}\n{}",
            env.worker_logs()
        );
    }
    // Every variant planted back by hand: dead-lettered as a bad signature, never run.
    let planted = variants(&stored, &other_signature);
    for (_, v) in &planted {
        insert_envelope(&env, store, &a, &v.to_string());
    }
    let mut letters = Vec::new();
    let all_dead = wait_for(PATIENCE, || {
        letters = dead_letters(&env, "default");
        letters.len() >= planted.len()
    });
    assert!(
        all_dead,
        "{} of {} variants dead-lettered: {letters:?}\n{}",
        letters.len(),
        planted.len(),
        env.worker_logs()
    );
    for l in &letters {
        let reason = l["reason"].as_str().unwrap_or("");
        assert!(reason.starts_with("signature:"), "{l}");
    }
    for (name, v) in &planted {
        let raw = v.to_string();
        assert!(
            letters
                .iter()
                .any(|l| l["raw"].as_str() == Some(raw.as_str())),
            "variant {name:?} not among the dead letters"
        );
    }
    let ran = env.read("ran.txt");
    assert_eq!(
        ran.lines().count(),
        2,
        "only the two signed tasks ran: {ran}"
    );
    assert!(!ran.contains("EVIL"), "a planted task ran: {ran}");
    // A follow-up a worker publishes is signed by it: a chain runs through.
    env.write(
        "chain.json",
        r#"{"chain": [{"task": "note", "args": ["step-1"]}, {"task": "note"}]}"#,
    );
    let chain = stem(
        &env,
        &vars,
        &[
            "canvas",
            "submit",
            "chain.json",
            "--wait",
            "--timeout",
            "60",
            "--json",
        ],
    );
    assert!(chain.ok(), "{chain:?}\n{}", env.worker_logs());
    w.assert_alive();
    drop(w);
    records_are_refused(&env, store, &vars, &a, sealed);
}

/// The record of `id` tampered with in the store: refused by every reader.
fn records_are_refused(env: &Env, store: Store, vars: &[(&str, String)], id: &str, sealed: bool) {
    let original = stored_record(env, store, id);
    let record: Value = serde_json::from_str(&original).expect("a stored record");
    assert!(record["signature"].is_string(), "{record}");
    let mut unsigned = record.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    let mut failed = record.clone();
    failed["state"] = json!("failure");
    let mut edited = record.clone();
    if sealed {
        edited["worker"] = json!("evil-worker");
    } else {
        edited["result"] = json!("EVIL-RESULT");
    }
    let server_vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(env, &[], &server_vars);
    for (what, tampered, reason) in [
        ("signature deleted", &unsigned, "signature: missing"),
        ("state edited", &failed, "signature: does not match"),
        ("contents edited", &edited, "signature: does not match"),
    ] {
        overwrite_record(env, store, id, &tampered.to_string());
        let out = stem(env, vars, &["result", id, "--json"]);
        assert!(!out.ok(), "{what}: stem result accepted it: {out:?}");
        assert_eq!(out.stderr.trim().lines().count(), 1, "{what}: {out:?}");
        assert!(out.stderr.contains(reason), "{what}: {out:?}");
        let reply = server.get(&format!("/v1/tasks/{id}"));
        assert_eq!(reply.status, 502, "{what}: {reply:?}");
        assert_eq!(
            reply.body["error"]["code"], "record_refused",
            "{what}: {reply:?}"
        );
        let list = stem(env, vars, &["tasks", "list", "--json"]).success();
        assert!(
            list.stdout.contains("SignatureRefused") && !list.stdout.contains("EVIL"),
            "{what}: {list:?}"
        );
    }
    overwrite_record(env, store, id, &original);
    let out = stem(env, vars, &["result", id, "--json"]).success();
    assert_eq!(out.json()["state"], "success");
}

#[test]
fn sqlite_signed_with_hmac() {
    scenario(Store::Sqlite, false);
}

#[test]
fn sqlite_signed_and_sealed() {
    scenario(Store::Sqlite, true);
}

#[test]
fn redis_signed_with_hmac() {
    scenario(Store::Redis, false);
}

#[test]
fn redis_signed_and_sealed() {
    scenario(Store::Redis, true);
}

#[test]
fn postgres_signed_with_hmac() {
    scenario(Store::Postgres, false);
}

#[test]
fn postgres_signed_and_sealed() {
    scenario(Store::Postgres, true);
}

#[test]
fn writers_need_a_private_key_and_readers_verify_with_public_keys() {
    let env = Env::with_manifest(MANIFEST);
    let seed = [11u8; 32];
    let private = vec![("STEM_SIGNING_PRIVATE_KEYS", format!("p1:{}", b64(&seed)))];
    let public_key = ed25519_public(&seed);
    let public = vec![(
        "STEM_SIGNING_PUBLIC_KEYS",
        format!("p1:{}", b64(&public_key)),
    )];
    let id = enqueue(&env, &private, "[1]");
    for args in [
        vec!["worker", "--manifest", "stem.toml"],
        vec!["enqueue", "note"],
        vec!["beat"],
    ] {
        let out = stem(&env, &public, &args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert_eq!(out.stderr.trim().lines().count(), 1, "{out:?}");
        assert!(out.stderr.contains("STEM_SIGNING_PRIVATE_KEYS"), "{out:?}");
    }
    let vars: Vec<(&str, &str)> = private.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _w = env.worker_with_env(&["--concurrency", "1"], &vars);
    let out = stem(
        &env,
        &public,
        &["result", &id, "--wait", "--timeout", "60", "--json"],
    );
    assert_eq!(
        out.json()["state"],
        "success",
        "{out:?}\n{}",
        env.worker_logs()
    );
}

/// The Ed25519 public key of `seed`, through `openssl` (the test crate has no Ed25519 code).
fn ed25519_public(seed: &[u8; 32]) -> Vec<u8> {
    // A PKCS#8 Ed25519 private key is a fixed 16-byte prefix and the seed.
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.der");
    std::fs::write(&key, der).unwrap();
    let out = std::process::Command::new("openssl")
        .args([
            "pkey", "-inform", "DER", "-pubout", "-outform", "DER", "-in",
        ])
        .arg(&key)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{out:?}");
    // The SubjectPublicKeyInfo ends with the 32 key bytes.
    out.stdout[out.stdout.len() - 32..].to_vec()
}
