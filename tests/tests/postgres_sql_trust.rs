//! Issue 26 with signing and encryption on: a task `SCHEMA.enqueue` wrote (unsigned, arguments
//! in clear) is dead-lettered by a worker holding the keys (either kind), never run; a worker started with
//! `STEM_SQL_ENQUEUE=trust` runs it, and the record it writes is signed and sealed (no argument
//! in clear in the results table); even then a row written by hand that claims to come from SQL
//! but carries a workflow header is refused.
//! Runs when `STEM_TEST_POSTGRES_URL` is set; says it skips otherwise.

use base64::Engine;
use serde_json::Value;
use stem_e2e::outcomes::dead_letters;
use stem_e2e::pg::psql;
use stem_e2e::{service_url, unique_namespace, wait_for_value, Env, PATIENCE};

const MANIFEST: &str = r#"[tasks.add]
exec = ["sh", "-c", "echo \"$STEM_ARGS\" >> ran.txt; echo \"$STEM_ARGS\""]
max_retries = 0
"#;

fn keys() -> Vec<(&'static str, String)> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    vec![
        (
            "STEM_SIGNING_KEYS",
            format!("k1:{}", b64(b"sql trust secret")),
        ),
        ("STEM_ENCRYPTION_KEYS", format!("e1:{}", b64(&[7u8; 32]))),
    ]
}

fn sql_enqueue(url: &str, ns: &str, marker: &str) -> String {
    psql(
        url,
        &format!("BEGIN; SELECT {ns}.enqueue('add', '[\"{marker}\"]'); COMMIT;"),
    )
    .lines()
    .find(|l| l.len() == 36)
    .expect("an id")
    .to_string()
}

fn letter(env: &Env, id: &str) -> Value {
    wait_for_value(PATIENCE, || {
        dead_letters(env, "default")
            .into_iter()
            .find(|l| l["id"] == id || l["raw"].as_str().is_some_and(|r| r.contains(id)))
    })
    .unwrap_or_else(|| panic!("no dead letter for {id}\n{}", env.worker_logs()))
}

#[test]
fn postgres_sql_enqueues_are_refused_under_signing_unless_the_worker_trusts_sql() {
    let test = "postgres_sql_enqueues_are_refused_under_signing_unless_the_worker_trusts_sql";
    let Some(url) = service_url("STEM_TEST_POSTGRES_URL", test) else {
        return;
    };
    let ns = unique_namespace();
    let env = Env::with_broker(MANIFEST, &url, &ns);
    env.stem(&["migrate"]).success();
    let keys = keys();
    let vars: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // The default level: refused, with encryption alone as with signing.
    let unsealed = sql_enqueue(&url, &ns, "marker-unsealed");
    let worker = env.worker_with_env(&["--concurrency", "1"], &vars[1..]);
    let dead = letter(&env, &unsealed);
    let reason = dead["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("encryption:") && reason.contains("not sealed"),
        "{dead}"
    );
    drop(worker);
    let refused = sql_enqueue(&url, &ns, "marker-refused");
    let worker = env.worker_with_env(&["--concurrency", "1"], &vars);
    let dead = letter(&env, &refused);
    let reason = dead["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("signature: missing"), "{dead}");
    assert!(!env.file("ran.txt").exists(), "the refused task ran");
    drop(worker);

    // Trusted: it runs, and what the worker writes is signed and sealed.
    let mut trusting = vars.clone();
    trusting.push(("STEM_SQL_ENQUEUE", "trust"));
    let _worker = env.worker_with_env(&["--concurrency", "1"], &trusting);
    let trusted = sql_enqueue(&url, &ns, "marker-trusted");
    let record = wait_for_value(PATIENCE, || {
        let out = env.stem_with_env(&keys, &["result", &trusted, "--json"]);
        let json = out.json();
        (json["state"] == "success").then_some(json)
    })
    .unwrap_or_else(|| panic!("{trusted} did not succeed\n{}", env.worker_logs()));
    assert_eq!(record["result"], serde_json::json!(["marker-trusted"]));
    assert_eq!(env.read("ran.txt"), "[\"marker-trusted\"]\n");
    let stored = psql(
        &url,
        &format!("SELECT record FROM {ns}.results WHERE id = '{trusted}'"),
    );
    assert!(
        stored.contains("\"sealed\"") && stored.contains("\"signature\""),
        "{stored}"
    );
    assert!(!stored.contains("marker-trusted"), "{stored}");

    // A hand-written row that claims SQL but carries a workflow header is verified as usual.
    let forged = "forged-wf-resume";
    let payload = format!(
        "{{\"id\":\"{forged}\",\"name\":\"add\",\"args\":[\"marker-forged\"],\"kwargs\":{{}},\
         \"queue\":\"default\",\"priority\":0,\"attempt\":1,\"headers\":{{\"stem-source\":\"sql\",\
         \"stem-wf-parent\":\"run-1\"}},\"created_at\":1}}"
    );
    psql(
        &url,
        &format!(
            "INSERT INTO {ns}.tasks (task_id, queue, priority, eta, visible_at, payload, created_at) \
             VALUES ('{forged}', 'default', 0, 0, 0, '{payload}', 0)"
        ),
    );
    let dead = letter(&env, forged);
    assert!(
        dead["reason"]
            .as_str()
            .is_some_and(|r| r.contains("signature: missing")),
        "{dead}"
    );
    assert!(!env.read("ran.txt").contains("marker-forged"));
}
