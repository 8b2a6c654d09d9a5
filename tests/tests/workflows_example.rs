//! The workflows example (`examples/workflows/`, its files used in place) run by a real worker
//! and a real `stem serve` on one SQLite file: the order run charges (a step with its
//! idempotency key), calls the Node `render_invoice` task once, sleeps, waits for
//! `shipment.o-17`, which is POSTed to the server, and completes with the event's tracking
//! number, its steps journaled in that order; and the example's own `run.sh` checks the same and
//! exits 0.

use serde_json::{json, Value};
use std::process::Command;
use stem_e2e::http::Server;
use stem_e2e::{repo_root, stem_bin, wait_for, wait_for_value, Env, PATIENCE};

fn show(env: &Env, run: &str) -> Value {
    env.stem(&["wf", "show", run, "--json"]).success().json()
}

#[test]
fn order_run_charges_calls_sleeps_and_takes_its_event_over_http() {
    let example = repo_root().join("examples/workflows");
    let manifest = example.join("stem.toml");
    let env = Env::new();
    let _worker = env.worker_on(
        &manifest,
        &["--concurrency", "4"],
        &[("STEM_LOG", "info,stem::observe::log=debug")],
    );
    let server = Server::start(&env, &["--manifest", manifest.to_str().unwrap()], &[]);

    let order = json!({"id": "o-17", "total_cents": 4200,
                       "items": [{"sku": "mug", "qty": 2}, {"sku": "tea", "qty": 1}]});
    let started = env
        .stem(&[
            "wf",
            "start",
            "order",
            "--manifest",
            manifest.to_str().unwrap(),
            "--args",
            &json!([order]).to_string(),
            "--id",
            "order-o-17",
            "--json",
        ])
        .success()
        .json();
    assert_eq!(started["run"], "order-o-17", "{started}");

    let waiting = wait_for(PATIENCE, || {
        let reply = server.get("/v1/workflows/waiters?topic=shipment.o-17");
        reply.body["waiters"]
            .as_array()
            .is_some_and(|ws| ws.iter().any(|w| w["run"] == "order-o-17"))
    });
    assert!(
        waiting,
        "the run never waited on shipment.o-17: {}\n{}",
        show(&env, "order-o-17"),
        env.worker_logs()
    );
    let suspended = show(&env, "order-o-17");
    assert_eq!(suspended["state"], "suspended", "{suspended}");

    let emitted = server.post(
        "/v1/events/shipment.o-17",
        r#"{"payload": {"tracking": "1Z-999-0017"}}"#,
    );
    assert_eq!(emitted.status, 200, "{emitted:?}");
    assert_eq!(
        emitted.body,
        json!({"topic": "shipment.o-17", "resumed": 1, "runs": ["order-o-17"]})
    );

    let done = wait_for_value(PATIENCE, || {
        let view = server.get("/v1/workflows/runs/order-o-17?wait=20").body;
        (view["state"] != "running" && view["state"] != "suspended").then_some(view)
    })
    .unwrap_or_else(|| panic!("the run never ended\n{}", env.worker_logs()));
    assert_eq!(done["state"], "completed", "{done}\n{}", env.worker_logs());

    let view = show(&env, "order-o-17");
    assert_eq!(
        view["result"],
        json!({
            "order": "o-17",
            "state": "shipped",
            "charge": "ch-o-17",
            "idempotency_key": "order-o-17/charge/1",
            "invoice": "INV-o-17",
            "total": "42.00",
            "tracking": "1Z-999-0017",
        }),
        "{view}"
    );
    let steps: Vec<(&str, &str, &str)> = view["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            let field = |k: &str| s[k].as_str().unwrap_or_default();
            (field("name"), field("kind"), field("state"))
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("charge", "step", "done"),
            ("render_invoice", "call", "done"),
            ("cool_off", "sleep", "done"),
            ("shipment", "event", "done"),
        ],
        "{view}"
    );
    let event = &view["steps"][3];
    assert_eq!(event["topic"], "shipment.o-17", "{view}");
    assert_eq!(
        event["result"],
        json!({"tracking": "1Z-999-0017"}),
        "{view}"
    );

    // The call is one task, `RUN:INDEX`, run once: one attempt, one line of its log.
    let call = view["steps"][1]["target"]
        .as_str()
        .expect("the call's task id");
    assert_eq!(call, "order-o-17:1", "{view}");
    let invoice = env.record(call);
    assert_eq!(invoice["state"], "success", "{invoice}");
    assert_eq!(invoice["name"], "render_invoice", "{invoice}");
    assert_eq!(invoice["attempt"], 1, "{invoice}");
    assert_eq!(
        invoice["result"],
        json!({"invoice": "INV-o-17", "lines": ["2 x mug", "1 x tea"], "total": "42.00"}),
        "{invoice}"
    );
    let log = env.read("worker-0.log");
    assert_eq!(
        log.matches("rendering invoice INV-o-17").count(),
        1,
        "{log}"
    );
    assert_eq!(
        log.matches("idempotency key order-o-17/charge/1").count(),
        1,
        "{log}"
    );
}

#[test]
fn run_sh_runs_the_example_and_checks_it() {
    let script = repo_root().join("examples/workflows/run.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script).env("STEM_BIN", stem_bin());
    for var in [
        "STEM_BROKER_URL",
        "STEM_RESULT_BACKEND_URL",
        "STEM_NAMESPACE",
        "STEM_MANIFEST",
        "STEM_API_URL",
        "STEM_API_TOKEN",
        "STEM_API_TOKENS",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().expect("run examples/workflows/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("workflows: ok"),
        "run.sh failed ({:?}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1Z-999-0017"), "{stdout}");
}
