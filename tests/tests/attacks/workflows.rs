//! Workflow runs under encryption and signing. With both on, a run's arguments, a step's result
//! and an event's payload appear in no row or byte of the store and in no log, while `stem wf
//! show` with the keys reads them back. A writer to the SQLite file who replaces a journaled
//! step's result (unsigned, or signed data moved from another step) is refused: the run fails
//! naming the step and the signature, and its code never sees the writer's value.

use base64::Engine;
use stem_e2e::sealing::{all_logs, found, store_dump};
use stem_e2e::store_edit::sqlite_sql;
use stem_e2e::stores::Store;
use stem_e2e::workflows::setup;
use stem_e2e::{wait_for, wait_for_value, Env, Output, PATIENCE};

fn keys() -> Vec<(&'static str, String)> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    vec![
        ("STEM_ENCRYPTION_KEYS", format!("e1:{}", b64(&[9u8; 32]))),
        (
            "STEM_SIGNING_KEYS",
            format!("k1:{}", b64(b"workflow secret")),
        ),
    ]
}

fn stem(env: &Env, args: &[&str]) -> Output {
    env.stem_with_env(&keys(), args)
}

fn worker(env: &Env) -> stem_e2e::Worker {
    let vars = keys();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.worker_with_env(&["--concurrency", "2", "--queues", "flows,math"], &vars)
}

fn show(env: &Env, run: &str) -> serde_json::Value {
    stem(env, &["wf", "show", run, "--json"]).success().json()
}

fn start_secret(env: &Env) -> String {
    let out = stem(
        env,
        &[
            "wf",
            "start",
            "secret",
            "--args",
            r#"["ZQ_WFARG"]"#,
            "--json",
        ],
    )
    .success();
    out.json()["run"].as_str().unwrap().to_string()
}

fn waiting(env: &Env, run: &str) -> bool {
    wait_for(PATIENCE, || {
        let v = show(env, run);
        v["state"] == "suspended" && v["steps"].as_array().is_some_and(|s| s.len() == 2)
    })
}

#[test]
fn workflow_payloads_are_sealed_everywhere() {
    let Some(env) = setup(Store::Sqlite, "workflow_payloads_are_sealed_everywhere") else {
        return;
    };
    let _w = worker(&env);
    let run = start_secret(&env);
    assert!(
        waiting(&env, &run),
        "{}\n{}",
        show(&env, &run),
        env.worker_logs()
    );
    let out = stem(
        &env,
        &[
            "wf",
            "emit",
            "reply.topic",
            "--payload",
            r#""ZQ_WFEVENT""#,
            "--json",
        ],
    )
    .success();
    assert_eq!(out.json()["resumed"], 1);
    let done = wait_for_value(PATIENCE, || {
        Some(show(&env, &run)).filter(|v| v["state"] == "completed")
    })
    .unwrap_or_else(|| panic!("{}\n{}", show(&env, &run), env.worker_logs()));
    assert_eq!(
        done["args"][0], "ZQ_WFARG",
        "read back with the keys: {done}"
    );
    assert_eq!(done["result"]["echoed"], "ZQ_WFARG_STEP");
    assert_eq!(done["result"]["reply"], "ZQ_WFEVENT");
    assert_eq!(done["steps"][0]["result"], "ZQ_WFARG_STEP");
    let markers = ["ZQ_WFARG", "ZQ_WFEVENT"];
    let leaks = found(&store_dump(&env), &markers);
    assert!(leaks.is_empty(), "in clear in the store: {leaks:?}");
    let leaks = found(&all_logs(&env), &markers);
    assert!(leaks.is_empty(), "in clear in a log: {leaks:?}");
    // Without the keys the run is there, its payloads are not.
    let blind = env.stem(&["wf", "show", &run, "--json"]).success().json();
    assert!(!blind.to_string().contains("ZQ_WF"), "{blind}");
    assert!(
        blind["unreadable"].is_string(),
        "says what it cannot read: {blind}"
    );
}

#[test]
fn an_edited_step_result_is_refused() {
    let Some(env) = setup(Store::Sqlite, "an_edited_step_result_is_refused") else {
        return;
    };
    let _w = worker(&env);
    let run = start_secret(&env);
    assert!(
        waiting(&env, &run),
        "{}\n{}",
        show(&env, &run),
        env.worker_logs()
    );
    let sql = |s: &str| sqlite_sql(&env, s);
    let q = run.replace('\'', "''");
    sql(&format!(
        "UPDATE stem_wf_steps SET data = '{{\"result\":\"ZQ_EVIL\"}}' WHERE run = '{q}' AND idx = 0"
    ));
    let out = stem(
        &env,
        &["wf", "emit", "reply.topic", "--payload", "1", "--json"],
    )
    .success();
    assert_eq!(out.json()["resumed"], 1);
    let failed = wait_for_value(PATIENCE, || {
        Some(show(&env, &run)).filter(|v| v["state"] == "failed")
    })
    .unwrap_or_else(|| panic!("{}\n{}", show(&env, &run), env.worker_logs()));
    let error = failed["error"].to_string();
    assert!(
        failed["error"]["type"] == "UnreadableStep"
            && error.contains("step 0")
            && error.contains("signature"),
        "{failed}"
    );
    assert!(
        !failed.to_string().contains("ZQ_EVIL"),
        "the writer's value never reached the code: {failed}"
    );

    // Signed data moved from another run's step is refused the same way.
    let other = start_secret(&env);
    assert!(waiting(&env, &other));
    let a = start_secret(&env);
    assert!(waiting(&env, &a));
    let data = sql(&format!(
        "SELECT data FROM stem_wf_steps WHERE run = '{}' AND idx = 0",
        other.replace('\'', "''")
    ));
    sql(&format!(
        "UPDATE stem_wf_steps SET data = '{}' WHERE run = '{}' AND idx = 0",
        data.trim().replace('\'', "''"),
        a.replace('\'', "''")
    ));
    stem(&env, &["wf", "emit", "reply.topic", "--payload", "2"]).success();
    let moved = wait_for_value(PATIENCE, || {
        Some(show(&env, &a)).filter(|v| v["state"] == "failed")
    })
    .unwrap_or_else(|| panic!("{}\n{}", show(&env, &a), env.worker_logs()));
    assert!(
        moved["error"].to_string().contains("signed for wf-step"),
        "{moved}"
    );
    let fine = wait_for_value(PATIENCE, || {
        Some(show(&env, &other)).filter(|v| v["state"] == "completed")
    });
    assert!(
        fine.is_some(),
        "the run whose data was copied is untouched: {}",
        show(&env, &other)
    );
}
