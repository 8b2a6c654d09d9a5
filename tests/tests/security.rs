//! Payload security end to end: with signing on, a task whose arguments were changed in Redis by
//! hand, or that was published unsigned straight into the stream, is dead-lettered with reason
//! `signature` and never runs; after a key rotation tasks signed with the old key still run and
//! new ones carry the new key; with encryption on, no argument string of the tasks appears in
//! any Redis key or Postgres row, and a ciphertext moved onto another task is refused; a child's
//! environment holds none of the worker's secrets, and a password in a store URL appears in no
//! log line.

use base64::Engine;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use stem_e2e::stores::{world, Store};
use stem_e2e::{wait_for, Env, Output, PATIENCE};

const MANIFEST: &str = "[tasks.note]\nexec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> ran.txt; echo \\\"$STEM_ARGS\\\" >> args.txt\"]\nmax_retries = 0\n\n[tasks.peek]\nexec = [\"sh\", \"-c\", \"echo $$ > pid.txt; sleep 3\"]\nmax_retries = 0\n";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn stem(env: &Env, vars: &[(&str, String)], args: &[&str]) -> Output {
    env.stem_with_env(vars, args)
}

fn enqueue(env: &Env, vars: &[(&str, String)], args: &str) -> String {
    let out = stem(env, vars, &["enqueue", "note", "--args", args, "--json"]).success();
    out.json()["id"].as_str().unwrap().to_string()
}

fn redis(url: &str, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-u")
        .arg(url)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dead_reasons(env: &Env, vars: &[(&str, String)]) -> Vec<(String, String)> {
    let out = stem(env, vars, &["dlq", "list", "--queue", "default", "--json"]);
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
    let list = v
        .as_array()
        .cloned()
        .or_else(|| v["letters"].as_array().cloned())
        .unwrap_or_default();
    list.iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap_or("").to_string(),
                l["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn redis_tampered_and_unsigned_tasks_are_dead_lettered_and_rotation_keeps_old_tasks_running() {
    let Some(env) = world(Store::Redis, MANIFEST, "security signing") else {
        return;
    };
    let url = std::env::var("STEM_TEST_REDIS_URL").unwrap();
    let ns = env.namespace().unwrap().to_string();
    let k1 = vec![("STEM_SIGNING_KEYS", format!("k1:{}", b64(b"first secret")))];
    // Signed with k1 while no worker runs: one left as is, one tampered with by hand.
    let kept = enqueue(&env, &k1, "[1]");
    let tampered = enqueue(&env, &k1, "[2]");
    let stream = format!("{ns}:q:default:p0");
    let entries = redis(&url, &["--no-raw", "XRANGE", &stream, "-", "+"]);
    assert!(entries.contains(&tampered), "{entries}");
    let raw = redis(&url, &["XRANGE", &stream, "-", "+"]);
    let line = raw
        .lines()
        .find(|l| l.contains(&tampered))
        .expect("the tampered task's entry")
        .to_string();
    let mut envelope: Value = serde_json::from_str(&line).unwrap();
    envelope["args"] = json!([2000000]);
    let id_line = raw.lines().collect::<Vec<_>>();
    let pos = id_line.iter().position(|l| l.contains(&tampered)).unwrap();
    let entry_id = id_line[pos - 2].to_string();
    redis(&url, &["XDEL", &stream, &entry_id]);
    redis(&url, &["XADD", &stream, "*", "e", &envelope.to_string()]);
    // An unsigned task published straight into the stream.
    let mut unsigned: Value = envelope.clone();
    unsigned["id"] = json!("unsigned-1");
    unsigned.as_object_mut().unwrap().remove("signature");
    redis(&url, &["XADD", &stream, "*", "e", &unsigned.to_string()]);
    // Rotate: the worker knows k1 and k2 and signs with k2.
    let both = vec![
        (
            "STEM_SIGNING_KEYS",
            format!("k1:{},k2:{}", b64(b"first secret"), b64(b"second secret")),
        ),
        ("STEM_SIGNING_ACTIVE_KEY", "k2".to_string()),
    ];
    let vars: Vec<(&str, &str)> = both.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _w = env.worker_with_env(&["--concurrency", "2"], &vars);
    let fresh = enqueue(&env, &both, "[3]");
    for id in [&kept, &fresh] {
        assert_eq!(env.outcome(id)["state"], "success", "{}", env.worker_logs());
    }
    assert!(
        wait_for(PATIENCE, || dead_reasons(&env, &both).len() == 2),
        "{:?}\n{}",
        dead_reasons(&env, &both),
        env.worker_logs()
    );
    for (id, reason) in dead_reasons(&env, &both) {
        assert!(reason.starts_with("signature"), "{id}: {reason}");
    }
    let ran = env.read("ran.txt");
    assert!(
        !ran.contains(&tampered) && !ran.contains("unsigned-1"),
        "never run: {ran}"
    );
    // New tasks carry the new key id.
    let new = enqueue(&env, &both, "[4]");
    let raw = redis(&url, &["XRANGE", &stream, "-", "+"]);
    let sig_of_new = raw
        .lines()
        .find(|l| l.contains(&new))
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["signature"].clone());
    if let Some(sig) = sig_of_new {
        assert!(
            sig.as_str().unwrap().starts_with("hmac-sha256:k2:"),
            "{sig}"
        );
    }
}

fn sealed_world(store: Store) {
    let Some(env) = world(store, MANIFEST, "security encryption") else {
        return;
    };
    let key = vec![("STEM_ENCRYPTION_KEYS", format!("e1:{}", b64(&[42u8; 32])))];
    let vars: Vec<(&str, &str)> = key.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let n = if store == Store::Redis { 200 } else { 60 };
    let ids: Vec<String> = (0..n)
        .map(|i| enqueue(&env, &key, &format!("[\"top-secret-{i:04}\"]")))
        .collect();
    let _w = env.worker_with_env(&["--concurrency", "4"], &vars);
    for id in &ids {
        let rec = stem(
            &env,
            &key,
            &["result", id, "--wait", "--timeout", "60", "--json"],
        );
        assert!(rec.ok(), "{rec:?}\n{}", env.worker_logs());
    }
    assert!(
        env.read("args.txt").contains("top-secret-0007"),
        "the child got plaintext"
    );
    let dump = match store {
        Store::Redis => {
            let url = std::env::var("STEM_TEST_REDIS_URL").unwrap();
            let ns = env.namespace().unwrap();
            let mut all = String::new();
            for k in redis(&url, &["--scan", "--pattern", &format!("{ns}:*")]).lines() {
                let t = redis(&url, &["TYPE", k]);
                let cmd: Vec<&str> = match t.trim() {
                    "string" => vec!["GET", k],
                    "hash" => vec!["HGETALL", k],
                    "list" => vec!["LRANGE", k, "0", "-1"],
                    "set" => vec!["SMEMBERS", k],
                    "zset" => vec!["ZRANGE", k, "0", "-1"],
                    "stream" => vec!["XRANGE", k, "-", "+"],
                    _ => continue,
                };
                all.push_str(&redis(&url, &cmd));
            }
            all
        }
        _ => {
            let url = std::env::var("STEM_TEST_POSTGRES_URL").unwrap();
            let out = Command::new("pg_dump")
                .args(["--data-only", "--schema", env.namespace().unwrap(), &url])
                .output()
                .expect("pg_dump");
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    assert!(
        dump.len() > 1000,
        "the scan read the store: {} bytes",
        dump.len()
    );
    assert!(
        !dump.contains("top-secret"),
        "plaintext arguments in the store"
    );
    // Without the key, a reader sees the state but not the contents.
    let plain = env.stem(&["result", &ids[0], "--json"]).success().json();
    assert_eq!(plain["state"], "success");
    assert!(!plain.to_string().contains("top-secret"));
}

#[test]
fn redis_no_argument_reaches_the_store_in_the_clear() {
    sealed_world(Store::Redis);
}

#[test]
fn postgres_no_argument_reaches_the_store_in_the_clear() {
    sealed_world(Store::Postgres);
}

#[test]
fn a_child_holds_none_of_the_workers_secrets_and_logs_hold_no_password() {
    let Some(pg) = std::env::var("STEM_TEST_POSTGRES_URL").ok() else {
        return;
    };
    // Trust auth ignores the password; it must still appear nowhere.
    let with_password = pg.replacen("postgres@", "postgres:Sup3rSecretPw@", 1);
    let ns = stem_e2e::unique_namespace();
    let env = Env::with_broker(MANIFEST, &with_password, &ns);
    let signing = format!("k1:{}", b64(b"signing secret value"));
    let sealing = format!("e1:{}", b64(&[5u8; 32]));
    let vars = [
        ("STEM_SIGNING_KEYS", signing.as_str()),
        ("STEM_ENCRYPTION_KEYS", sealing.as_str()),
        ("RUST_LOG", "debug"),
        ("STEM_LOG", "debug"),
    ];
    let owned: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let mut w = env.worker_with_env(&["--concurrency", "1"], &vars);
    let id = stem(&env, &owned, &["enqueue", "peek", "--json"])
        .success()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        wait_for(PATIENCE, || !env.read("pid.txt").trim().is_empty()),
        "{}",
        env.worker_logs()
    );
    let pid = env.read("pid.txt").trim().to_string();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    let environ = String::from_utf8_lossy(&environ);
    for secret in [
        signing.as_str(),
        sealing.as_str(),
        "Sup3rSecretPw",
        "STEM_BROKER_URL",
        "STEM_SIGNING",
        "STEM_ENCRYPTION",
    ] {
        assert!(
            !environ.contains(secret),
            "the child's environment holds {secret:?}"
        );
    }
    stem(&env, &owned, &["result", &id, "--wait", "--timeout", "30"]);
    stem(&env, &owned, &["health"]);
    w.assert_alive();
    drop(w);
    let logs = env.worker_logs();
    assert!(
        !logs.contains("Sup3rSecretPw"),
        "a password in the worker's log:\n{logs}"
    );
}
