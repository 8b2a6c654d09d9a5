//! Durable workflows through `stem serve`, with `curl` and a real Python worker: start a run
//! (idempotent by id), long-poll it, list and page runs, list waiters, emit the event a run
//! waits for, rewind and cancel.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use stem_e2e::http::Server;
use stem_e2e::workflow_api::{assert_error, run, start, wait_state, wait_waiting, worker, world};
use stem_e2e::{wait_for, PATIENCE};

fn step_names(view: &Value) -> Vec<String> {
    view["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn start_wait_list_emit_rewind_and_cancel() {
    let env = world();
    let server = Server::start(&env, &[], &[]);
    let _w = worker(&env);

    let first = start(&server, "order", json!({"args": ["o1"], "id": "api-o1"}));
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(
        first.body,
        json!({"run": "api-o1", "workflow": "order", "state": "running", "created": true})
    );
    let again = start(&server, "order", json!({"args": ["other"], "id": "api-o1"}));
    assert_eq!(
        (again.status, &again.body["created"], &again.body["run"]),
        (200, &json!(false), &json!("api-o1")),
        "a second start with the id is the first run: {again:?}"
    );

    wait_waiting(&server, &env, "api-o1", "shipment.o1");
    let waiting = run(&server, "api-o1");
    assert_eq!(waiting["state"], "suspended", "{waiting}");
    assert_eq!(step_names(&waiting), ["charge", "shipped"], "{waiting}");
    assert_eq!(waiting["steps"][0]["result"], 42, "{waiting}");
    assert_eq!(waiting["steps"][1]["topic"], "shipment.o1", "{waiting}");
    assert_eq!(waiting["args"], json!(["o1"]), "{waiting}");

    // A long-poll on a run that does not end answers when its time passes, as it stands.
    let polled = Instant::now();
    let still = server.get("/v1/workflows/runs/api-o1?wait=1");
    assert_eq!(still.body["state"], "suspended", "{still:?}");
    assert!(
        polled.elapsed() >= Duration::from_millis(900),
        "the poll waited"
    );

    let listed = server.get("/v1/workflows/runs?state=suspended&name=order");
    let runs = listed.body["runs"].as_array().expect("runs").clone();
    let mine = runs
        .iter()
        .find(|r| r["id"] == "api-o1")
        .expect("the run is listed");
    assert!(
        mine.get("steps").is_none(),
        "a listing has no steps: {mine}"
    );
    let none = server.get("/v1/workflows/runs?state=completed&name=order");
    assert_eq!(none.body["runs"], json!([]), "{none:?}");
    let counts = server.get("/v1/workflows/counts").body["counts"].clone();
    assert_eq!(counts["suspended"], 1, "{counts}");
    assert_eq!(counts["timed_out"], 0, "every state is named: {counts}");

    let emitted = server.post(
        "/v1/events/shipment.o1",
        &json!({"payload": {"tracking": "T-1"}}).to_string(),
    );
    assert_eq!(emitted.status, 200, "{emitted:?}");
    assert_eq!(
        emitted.body,
        json!({"topic": "shipment.o1", "resumed": 1, "runs": ["api-o1"]})
    );
    let done = wait_state(&server, &env, "api-o1", "completed");
    assert_eq!(
        done["result"],
        json!({"charged": 42, "tracking": "T-1"}),
        "{done}"
    );
    assert_eq!(step_names(&done), ["charge", "shipped", "done"], "{done}");
    let nobody = server.post("/v1/events/shipment.o1", "");
    assert_eq!(
        (nobody.status, &nobody.body["resumed"]),
        (200, &json!(0)),
        "{nobody:?}"
    );

    let rewound = server.post(
        "/v1/workflows/runs/api-o1/rewind",
        &json!({"to": "done"}).to_string(),
    );
    assert_eq!(rewound.status, 200, "{rewound:?}");
    assert_eq!(rewound.body["id"], "api-o1", "{rewound:?}");
    assert_eq!(rewound.body["state"], "suspended", "{rewound:?}");
    let done = wait_state(&server, &env, "api-o1", "completed");
    assert_eq!(done["result"]["tracking"], "T-1", "{done}");
    let effects = env.read("effects.txt");
    assert_eq!(
        effects.lines().filter(|l| *l == "done o1").count(),
        2,
        "the rewound step ran again, the one before it did not: {effects}"
    );
    assert_eq!(effects.lines().filter(|l| *l == "charge o1").count(), 1);
    assert_error(
        &server.post("/v1/workflows/runs/api-o1/rewind", r#"{"to": "nope"}"#),
        409,
        "workflow_conflict",
        "has no step \"nope\"",
    );

    // Paging: the newest first, then the ones created before it.
    let slow = start(&server, "slow", json!({}));
    assert_eq!(slow.status, 201, "{slow:?}");
    let slow_id = slow.body["run"].as_str().expect("a run id").to_string();
    let page = server.get("/v1/workflows/runs?limit=1").body["runs"].clone();
    assert_eq!(page[0]["id"], slow_id.as_str(), "{page}");
    let before = page[0]["created_at"].as_i64().expect("created_at");
    let older = server.get(&format!("/v1/workflows/runs?limit=1&before={before}"));
    assert_eq!(older.body["runs"][0]["id"], "api-o1", "{older:?}");

    let napping = wait_for(PATIENCE, || {
        run(&server, &slow_id)["steps"][0]["state"] == "running"
    });
    assert!(
        napping,
        "the nap never started: {}\n{}\n{}\n{}",
        run(&server, &slow_id),
        env.queue_counts("flows"),
        env.stem(&["tasks", "list", "--json"]).stdout,
        env.worker_logs()
    );
    let cancelled = server.post(&format!("/v1/workflows/runs/{slow_id}/cancel"), "{}");
    assert_eq!(
        (cancelled.status, &cancelled.body["state"]),
        (200, &json!("cancelled")),
        "{cancelled:?}"
    );
    assert_eq!(
        cancelled.body["error"]["type"], "Cancelled",
        "{cancelled:?}"
    );
    assert_error(
        &server.post(&format!("/v1/workflows/runs/{slow_id}/cancel"), ""),
        409,
        "workflow_conflict",
        "already ended: cancelled",
    );
    let counts = server.get("/v1/workflows/counts").body["counts"].clone();
    assert_eq!(
        (&counts["completed"], &counts["cancelled"]),
        (&json!(1), &json!(1)),
        "{counts}"
    );
}
