//! Durable workflows end to end (issue 23), on SQLite, Redis and Postgres: a Python order
//! workflow that charges (a step, once), calls a task, sleeps, waits for an event emitted with
//! `stem wf emit` and completes; an event wait that times out; a child run; idempotent starts;
//! a changed step order caught as `nondeterminism`; cancel stopping a running step's child;
//! rewind running a step again.

use serde_json::Value;
use stem_e2e::stores::Store;
use stem_e2e::workflows::{emit_when_waiting, setup, show, start, state_of, wait_state, worker};
use stem_e2e::{procs, wait_for, wait_for_value, Env, PATIENCE};

fn effects(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.file("effects.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn order_flow(store: Store) {
    let Some(env) = setup(store, "order_flow") else {
        return;
    };
    let _w = worker(&env);
    let run = start(&env, "order", r#"["o1"]"#);
    emit_when_waiting(&env, &run, "shipment.o1", r#"{"tracking":"T-1"}"#);
    let done = wait_state(&env, &run, "completed");
    assert_eq!(
        done["result"],
        serde_json::json!({"total": 50, "tracking": "T-1"}),
        "{done}"
    );
    let names: Vec<&str> = done["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["charge", "add", "cool_off", "shipped", "done"],
        "{done}"
    );
    let charge = &done["steps"][0];
    assert_eq!(
        (charge["state"].as_str(), charge["result"].as_i64()),
        (Some("done"), Some(42))
    );
    assert_eq!(done["steps"][1]["kind"], "call");
    assert_eq!(
        done["steps"][1]["target"].as_str(),
        Some(format!("{run}:1").as_str())
    );
    let fx = effects(&env);
    assert_eq!(
        fx,
        [format!("o1 charge {run}/charge/1"), "o1 done".to_string()],
        "each step's effect once"
    );
    // The emit after the run moved on resumes nobody; a second start with the run's id is the same run.
    let again = env
        .stem(&["wf", "emit", "shipment.o1", "--json"])
        .success()
        .json();
    assert_eq!(again["resumed"], 0);
    let listed = env
        .stem(&["wf", "ls", "--state", "completed", "--json"])
        .success()
        .json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == run.as_str()),
        "{listed}"
    );
}

#[test]
fn order_flow_sqlite() {
    order_flow(Store::Sqlite)
}
#[test]
fn order_flow_redis() {
    order_flow(Store::Redis)
}
#[test]
fn order_flow_postgres() {
    order_flow(Store::Postgres)
}

fn timeouts_children_and_ids(store: Store) {
    let Some(env) = setup(store, "timeouts_children_and_ids") else {
        return;
    };
    let _w = worker(&env);
    let late = start(&env, "order", r#"["o2", 1]"#);
    let kid_run = env
        .stem(&[
            "wf", "start", "parent", "--args", "[20]", "--id", "fam-1", "--json",
        ])
        .success()
        .json();
    assert_eq!(
        (kid_run["run"].as_str(), kid_run["created"].as_bool()),
        (Some("fam-1"), Some(true))
    );
    let twice = env
        .stem(&[
            "wf", "start", "parent", "--args", "[99]", "--id", "fam-1", "--json",
        ])
        .success()
        .json();
    assert_eq!(
        twice["created"], false,
        "a second start with the id is the first run: {twice}"
    );
    let timed = wait_state(&env, &late, "completed");
    assert_eq!(
        timed["result"]["tracking"],
        Value::Null,
        "the wait timed out: {timed}"
    );
    assert_eq!(timed["steps"][3]["timed_out"], true, "{timed}");
    let fam = wait_state(&env, "fam-1", "completed");
    assert_eq!(
        fam["result"], 41,
        "the child doubled 20, the parent added one: {fam}"
    );
    let kid = wait_state(&env, "fam-1:0", "completed");
    assert_eq!(kid["parent"], "fam-1");
    let bad = env.stem(&["wf", "start", "nope"]);
    assert_eq!(
        bad.code,
        Some(2),
        "an unknown workflow is bad input: {bad:?}"
    );
    assert!(bad.stderr.contains("unknown workflow \"nope\""), "{bad:?}");
}

#[test]
fn timeouts_children_and_ids_sqlite() {
    timeouts_children_and_ids(Store::Sqlite)
}
#[test]
fn timeouts_children_and_ids_redis() {
    timeouts_children_and_ids(Store::Redis)
}
#[test]
fn timeouts_children_and_ids_postgres() {
    timeouts_children_and_ids(Store::Postgres)
}

/// A run whose code changed its step order fails with `nondeterminism` naming the step index
/// and both names; rewinding to the first step after restoring the code runs it again.
#[test]
fn nondeterminism_and_rewind() {
    let Some(env) = setup(Store::Sqlite, "nondeterminism_and_rewind") else {
        return;
    };
    let w = worker(&env);
    let run = start(&env, "order", r#"["o3"]"#);
    wait_for(PATIENCE, || {
        show(&env, &run)["steps"]
            .as_array()
            .is_some_and(|s| s.len() >= 4)
    });
    env.write("variant.txt", "refund");
    drop(w);
    let _w = worker(&env);
    emit_when_waiting(&env, &run, "shipment.o3", r#"{"tracking":"T-3"}"#);
    let failed = wait_state(&env, &run, "failed");
    let message = failed["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(failed["error"]["type"], "Nondeterminism", "{failed}");
    assert!(
        message.contains(r#"step 0 was "charge" when recorded, the code now asks for "refund""#),
        "{failed}"
    );
    std::fs::remove_file(env.file("variant.txt")).unwrap();
    let rewound = env
        .stem(&["wf", "rewind", &run, "--to", "charge", "--json"])
        .success()
        .json();
    // Rewound to suspended, with a resume on its way: a quick worker may already be running it
    // when the command reads the run back.
    assert!(
        rewound["state"] == "suspended" || rewound["state"] == "running",
        "{rewound}"
    );
    emit_when_waiting(&env, &run, "shipment.o3", r#"{"tracking":"T-4"}"#);
    let done = wait_state(&env, &run, "completed");
    assert_eq!(done["result"]["tracking"], "T-4", "{done}");
    let charges = effects(&env)
        .iter()
        .filter(|l| l.starts_with("o3 charge"))
        .count();
    assert_eq!(
        charges,
        2,
        "the rewound step ran again: {:?}",
        effects(&env)
    );
    let missing = env.stem(&["wf", "rewind", &run, "--to", "nope"]);
    assert_eq!(missing.code, Some(2), "{missing:?}");
    assert!(
        missing.stderr.contains("has no step \"nope\""),
        "{missing:?}"
    );
}

/// Cancelling a run stops its running step's child (and that child only); the run ends
/// `cancelled` and stays so.
#[test]
fn cancel_stops_the_running_step() {
    let Some(env) = setup(Store::Sqlite, "cancel_stops_the_running_step") else {
        return;
    };
    let _w = worker(&env);
    let run = start(&env, "slow", "[]");
    let pid: u32 = wait_for_value(PATIENCE, || {
        std::fs::read_to_string(env.file("nap.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    })
    .unwrap_or_else(|| panic!("the step never started: {}", env.worker_logs()));
    assert!(procs::alive(pid), "the step's child runs");
    let out = env.stem(&["wf", "cancel", &run, "--json"]).success().json();
    assert_eq!(out["state"], "cancelled", "{out}");
    assert!(
        wait_for(PATIENCE, || !procs::alive(pid)),
        "the step's child was stopped"
    );
    assert_eq!(state_of(&env, &run), "cancelled");
    let again = env.stem(&["wf", "cancel", &run]);
    assert_eq!(again.code, Some(2), "{again:?}");
    assert!(
        again.stderr.contains("already ended: cancelled"),
        "{again:?}"
    );
}
