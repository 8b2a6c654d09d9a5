//! Durable workflows through `stem serve`, with `curl` and a real Python worker: start a run
//! (idempotent by id), long-poll it, list and page runs, list waiters, emit the event a run
//! waits for, rewind and cancel; bad input answered with the error code and the field; a
//! read-only token refused for actions and shown no action buttons; a run id and a topic
//! carrying markup shown escaped on the dashboard.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use stem_e2e::http::{Reply, Server};
use stem_e2e::{repo_root, wait_for, wait_for_value, Env, Worker, PATIENCE};

const CODE: &str = r#"import os, time
from stem_sdk import run, workflow

HERE = os.path.dirname(os.path.abspath(__file__))

def note(line):
    with open(os.path.join(HERE, "effects.txt"), "a") as f:
        f.write(line + "\n")
    return line

@workflow("order")
def order(ctx, oid):
    charged = ctx.step("charge", lambda: note("charge " + oid) and 42)
    ev = ctx.wait_for_event("shipped", "shipment." + oid, timeout=120)
    ctx.step("done", note, "done " + oid)
    return {"charged": charged, "tracking": ev.payload["tracking"]}

@workflow("slow")
def slow(ctx):
    ctx.step("nap", lambda: time.sleep(120))
    return "woke"

if __name__ == "__main__":
    run()
"#;

fn world() -> Env {
    let sdk = repo_root().join("sdk-python");
    let mut m = format!(
        "[runtimes.python]\ncommand = [\"python3\", \"flows.py\"]\nisolation = \"pool\"\n\
         env = {{ PYTHONPATH = {:?} }}\n",
        sdk.display()
    );
    for w in ["order", "slow"] {
        m.push_str(&format!(
            "\n[workflows.{w}]\nruntime = \"python\"\nqueue = \"flows\"\ntime_limit = \"150s\"\n"
        ));
    }
    let env = Env::with_manifest(&m);
    env.write("flows.py", CODE);
    env
}

fn worker(env: &Env) -> Worker {
    env.worker(&["--concurrency", "3", "--queues", "flows"])
}

fn start(server: &Server, workflow: &str, body: Value) -> Reply {
    server.post(&format!("/v1/workflows/{workflow}/runs"), &body.to_string())
}

/// `s` as one URL path segment.
fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn run(server: &Server, id: &str) -> Value {
    let reply = server.get(&format!("/v1/workflows/runs/{}", seg(id)));
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body
}

/// Waits until `run` waits on `topic`, as the waiters listing says.
fn wait_waiting(server: &Server, env: &Env, id: &str, topic: &str) {
    let waiting = wait_for(PATIENCE, || {
        let reply = server.get(&format!("/v1/workflows/waiters?topic={}", seg(topic)));
        reply.body["waiters"]
            .as_array()
            .is_some_and(|ws| ws.iter().any(|w| w["run"] == id))
    });
    assert!(
        waiting,
        "run {id} never waited on {topic}: {}\n{}",
        run(server, id),
        env.worker_logs()
    );
}

/// Long-polls the run until it is `want` (each poll waits up to 20 s).
fn wait_state(server: &Server, env: &Env, id: &str, want: &str) -> Value {
    wait_for_value(PATIENCE, || {
        let view = server
            .get(&format!("/v1/workflows/runs/{}?wait=20", seg(id)))
            .body;
        (view["state"] == want).then_some(view)
    })
    .unwrap_or_else(|| {
        panic!(
            "run {id} never became {want}: {}\n{}",
            run(server, id),
            env.worker_logs()
        )
    })
}

fn assert_error(reply: &Reply, status: u16, code: &str, says: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.body["error"]["code"], code, "{reply:?}");
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{message:?} does not say {says:?}");
}

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

/// Bad requests, one a line: `METHOD PATH | BODY (- for none) | STATUS CODE | what the message
/// says`.
const BAD_INPUT: &str = r#"
POST /v1/workflows/nope/runs | {} | 404 unknown_workflow | unknown workflow "nope"
POST /v1/workflows/order/runs | {"args": {"a": 1}} | 400 invalid_field | args: expected a JSON array
POST /v1/workflows/order/runs | {"kwargs": [1]} | 400 invalid_field | kwargs: expected a JSON object
POST /v1/workflows/order/runs | {"id": 7} | 400 invalid_field | id: expected a string
POST /v1/workflows/order/runs | {"queue": "x"} | 400 invalid_field | queue: unknown field
POST /v1/workflows/order/runs | {"args": [ | 400 invalid_field | body: malformed JSON
POST /v1/workflows/order/runs | [1] | 400 invalid_field | body: expected a JSON object
POST /v1/workflows/order/runs | {"id": "has space"} | 400 invalid_field | run id "has space"
POST /v1/workflows/order/runs | {"args": null} | 400 invalid_field | args: expected a JSON array
GET /v1/workflows/runs?state=done | - | 400 invalid_parameter | state: unknown state "done"
GET /v1/workflows/runs?limit=0 | - | 400 invalid_parameter | limit: expected a whole number from 1 to 1000
GET /v1/workflows/runs?limit=5000 | - | 400 invalid_parameter | limit:
GET /v1/workflows/runs?before=yesterday | - | 400 invalid_parameter | before:
GET /v1/workflows/runs?order=asc | - | 400 invalid_parameter | order: unknown query parameter
GET /v1/workflows/runs/idle-1?wait=soon | - | 400 invalid_parameter | wait:
GET /v1/workflows/waiters?limit=-1 | - | 400 invalid_parameter | limit:
GET /v1/workflows/runs/missing | - | 404 run_not_found | missing
POST /v1/workflows/runs/missing/cancel | - | 404 run_not_found | missing
POST /v1/workflows/runs/missing/rewind | {"to": "a"} | 404 run_not_found | missing
POST /v1/workflows/runs/idle-1/rewind | {} | 400 invalid_field | to: required
POST /v1/workflows/runs/idle-1/rewind | {"to": 3} | 400 invalid_field | to: expected a string
POST /v1/workflows/runs/idle-1/rewind | {"to": "charge"} | 409 workflow_conflict | has no step "charge" (its steps: none yet)
POST /v1/workflows/runs/idle-1/cancel | {"now": true} | 400 invalid_field | now: unknown field
POST /v1/events/t | {"payload": 1, "extra": 2} | 400 invalid_field | extra: unknown field
POST /v1/events/a%01b | {} | 400 invalid_field | no control characters
GET /v1/events/t | - | 405 method_not_allowed | GET is not allowed
"#;

#[test]
fn bad_input_is_refused_by_name_and_read_tokens_only_read() {
    let env = world();
    let mut server = Server::start(&env, &[], &[("STEM_API_TOKENS", "sesame, peek:read")]);
    server.token = Some("sesame".into());
    let started = start(&server, "order", json!({"args": ["o9"], "id": "idle-1"}));
    assert_eq!(started.status, 201, "{started:?}");

    for line in BAD_INPUT.lines().filter(|l| !l.trim().is_empty()) {
        let [request, body, outcome, says] = line.split(" | ").collect::<Vec<_>>()[..] else {
            panic!("a malformed case: {line}");
        };
        let (method, path) = request.split_once(' ').expect("METHOD PATH");
        let (status, code) = outcome.split_once(' ').expect("STATUS CODE");
        let args: &[&str] = match body {
            "-" => &[],
            body => &["--data-binary", body],
        };
        let reply = server.curl(method, path, args);
        assert_eq!(reply.status.to_string(), status, "{line}: {reply:?}");
        assert_eq!(reply.body["error"]["code"], code, "{line}: {reply:?}");
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{line}: {message:?}");
    }
    let stream = server.curl("GET", "/v1/events", &["--max-time", "1"]);
    assert_eq!(
        stream.status, 200,
        "GET /v1/events is still the event stream: {stream:?}"
    );
    let listed = server.get("/v1/workflows/runs").body["runs"].clone();
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "nothing else started: {listed}"
    );

    server.token = Some("peek".into());
    for (path, body) in [
        ("/v1/workflows/runs/idle-1/cancel", "{}"),
        ("/v1/workflows/runs/idle-1/rewind", r#"{"to": "charge"}"#),
        ("/v1/workflows/order/runs", "{}"),
        ("/v1/events/shipment.o9", "{}"),
    ] {
        assert_error(&server.post(path, body), 403, "forbidden", "read-only");
    }
    assert_eq!(
        run(&server, "idle-1")["state"],
        "running",
        "the read token changed nothing"
    );
    let counts = server.get("/v1/workflows/counts");
    assert_eq!(
        (counts.status, &counts.body["counts"]["running"]),
        (200, &json!(1)),
        "{counts:?}"
    );
    let waiters = server.get("/v1/workflows/waiters");
    assert_eq!(
        (waiters.status, &waiters.body["waiters"]),
        (200, &json!([])),
        "{waiters:?}"
    );

    // The dashboard offers cancel to an admin cookie only; the API refuses it anyway.
    server.token = None;
    let page = |token: &str| {
        let reply = server.curl(
            "GET",
            "/ui/workflows/idle-1",
            &["-H", &format!("Cookie: stem_token={token}")],
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body.as_str().unwrap_or_default().to_string()
    };
    assert!(
        page("sesame").contains("/v1/workflows/runs/idle-1/cancel"),
        "an admin sees Cancel"
    );
    let read = page("peek");
    assert!(
        read.contains("<h1>Run <code id=\"run-id\">idle-1</code></h1>"),
        "{read}"
    );
    assert!(
        !read.contains("data-post"),
        "a read token sees no actions: {read}"
    );
}

#[test]
fn markup_in_a_run_id_and_a_topic_is_shown_as_text() {
    let env = world();
    let server = Server::start(&env, &[], &[]);
    let _w = worker(&env);
    let id = "<script>alert(1)</script>";
    let oid = "<img/src=x/onerror=alert(2)>";
    let topic = format!("shipment.{oid}");
    let started = start(&server, "order", json!({"args": [oid], "id": id}));
    assert_eq!(started.status, 201, "{started:?}");
    wait_waiting(&server, &env, id, &topic);
    for path in [
        format!("/ui/workflows/{}", seg(id)),
        "/ui/workflows".to_string(),
        "/ui/workflows?state=suspended".to_string(),
    ] {
        let reply = server.get(&path);
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        let html = reply.body.as_str().unwrap_or_default();
        assert!(!html.contains("<script>alert"), "{path} has the raw run id");
        assert!(!html.contains("<img/src"), "{path} has the raw topic");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path} shows the run id as text"
        );
        assert!(
            html.contains("shipment.&lt;img/src=x/onerror=alert(2)&gt;"),
            "{path} shows the topic as text"
        );
    }
    let missing = server.get(&format!("/ui/workflows/{}", seg("<b>gone</b>")));
    assert_eq!(missing.status, 404, "{missing:?}");
    let html = missing.body.as_str().unwrap_or_default();
    assert!(
        html.contains("&lt;b&gt;gone&lt;/b&gt;") && !html.contains("<b>gone"),
        "{html}"
    );
}
