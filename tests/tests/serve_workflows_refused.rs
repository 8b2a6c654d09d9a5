//! What the workflow API of `stem serve` refuses and escapes: bad input answered with the
//! error code and the field; a read-only token refused for actions and shown no action
//! buttons; a run id and a topic carrying markup shown escaped on the dashboard.

use serde_json::json;
use stem_e2e::http::Server;
use stem_e2e::workflow_api::{assert_error, run, seg, start, wait_waiting, worker, world};

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
