//! Issue 13: `stem serve`, driven with `curl` alone — enqueue, wait for a result, revoke a
//! running task, list failures, replay a dead letter; bad requests answered with a JSON error
//! naming what is wrong, nothing published, the server serving on; tokens and scopes; the
//! OpenAPI document served as checked in; a failed task retried under a new id.

use serde_json::{json, Value};
use stem_e2e::http::Server;
use stem_e2e::{fake_runtime, repo_root, wait_for, wait_for_value, Env, PATIENCE};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");

fn manifest() -> String {
    format!(
        "{}\n[tasks.echo]\nruntime = \"fake\"\n\n[tasks.hang]\nruntime = \"fake\"\nmax_retries = 3\n\n\
         [tasks.fail]\nruntime = \"fake\"\nmax_retries = 0\n",
        fake_runtime("fake", FAKE, "process")
    )
}

/// Long-polls the task until it is terminal.
fn outcome(server: &Server, id: &str) -> Value {
    wait_for_value(PATIENCE, || {
        let reply = server.get(&format!("/v1/tasks/{id}?wait=20s"));
        assert_eq!(reply.status, 200, "{reply:?}");
        let state = reply.body["state"].as_str().unwrap_or_default().to_string();
        ["success", "failure", "revoked"]
            .contains(&state.as_str())
            .then_some(reply.body)
    })
    .unwrap_or_else(|| panic!("task {id} did not finish"))
}

fn enqueue(server: &Server, spec: Value) -> String {
    let reply = server.post("/v1/tasks", &spec.to_string());
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body["id"].as_str().expect("an id").to_string()
}

#[test]
fn curl_alone_enqueues_waits_revokes_and_replays() {
    let env = Env::with_manifest(&manifest());
    let server = Server::start(&env, &[], &[]);
    let _worker = env.worker(&["--terminate-grace", "2s"]);

    let id = enqueue(&server, json!({"task": "echo", "args": [1, "two"]}));
    let done = outcome(&server, &id);
    assert_eq!(done["state"], "success", "{done}");
    assert_eq!(done["result"], json!([1, "two"]), "{done}");

    let id = enqueue(&server, json!({"task": "hang"}));
    let started = wait_for(PATIENCE, || {
        server.get(&format!("/v1/tasks/{id}")).body["state"] == "started"
    });
    assert!(started, "the hang task never started");
    let revoked = server.post(&format!("/v1/tasks/{id}/revoke"), r#"{"terminate": true}"#);
    assert_eq!(
        (revoked.status, &revoked.body["revoked"]),
        (200, &json!(true)),
        "{revoked:?}"
    );
    let done = outcome(&server, &id);
    assert_eq!(done["state"], "revoked", "{done}");

    let id = enqueue(
        &server,
        json!({"task": "fail", "kwargs": {"item": "sprocket"}}),
    );
    let done = outcome(&server, &id);
    assert_eq!(done["state"], "failure", "{done}");
    let failures = server.get("/v1/tasks?state=failure&task=fail&since=1h");
    let listed = failures.body["tasks"].as_array().expect("tasks").clone();
    let mine = listed
        .iter()
        .find(|t| t["id"] == id.as_str())
        .expect("listed");
    assert_eq!(mine["kwargs"], json!({"item": "sprocket"}), "{mine}");
    let letters = wait_for_value(PATIENCE, || {
        let reply = server.get("/v1/queues/default/dead-letters");
        let list = reply.body["dead_letters"].as_array()?.clone();
        list.iter().any(|l| l["id"] == id.as_str()).then_some(list)
    });
    assert!(letters.is_some(), "the failed task was not dead-lettered");
    let replay = server.post(
        "/v1/queues/default/dead-letters/replay",
        &json!({"id": id}).to_string(),
    );
    assert_eq!(replay.status, 200, "{replay:?}");
    assert_eq!(replay.body["replayed"][0]["id"], id.as_str(), "{replay:?}");
    // Replayed, it runs (and fails) again: back in the dead letters, counted once.
    let again = wait_for(PATIENCE, || {
        let letter = server.get(&format!("/v1/queues/default/dead-letters/{id}"));
        letter.status == 200 && letter.body["replay_count"] == 1
    });
    assert!(again, "the replayed task did not run again");
}

#[test]
fn retry_enqueues_a_failed_task_again_under_a_new_id() {
    let env = Env::with_manifest(&manifest());
    let server = Server::start(&env, &[], &[]);
    let _worker = env.worker(&[]);
    let failed = enqueue(
        &server,
        json!({"task": "fail", "args": [7], "kwargs": {"item": "cog"}}),
    );
    assert_eq!(outcome(&server, &failed)["state"], "failure");
    let retried = server.post(&format!("/v1/tasks/{failed}/retry"), "");
    assert_eq!(retried.status, 200, "{retried:?}");
    let new = retried.body["id"].as_str().expect("an id").to_string();
    assert_ne!(new, failed, "{retried:?}");
    assert_eq!(retried.body["queue"], "default", "{retried:?}");
    let again = outcome(&server, &new);
    assert_eq!(
        (
            &again["state"],
            &again["name"],
            &again["args"],
            &again["kwargs"]
        ),
        (
            &json!("failure"),
            &json!("fail"),
            &json!([7]),
            &json!({"item": "cog"})
        ),
        "{again}"
    );

    let ok = enqueue(&server, json!({"task": "echo"}));
    assert_eq!(outcome(&server, &ok)["state"], "success");
    let refused = server.post(&format!("/v1/tasks/{ok}/retry"), "{}");
    assert_eq!(
        (refused.status, &refused.body["error"]["code"]),
        (409, &json!("task_not_failed")),
        "{refused:?}"
    );
    let unknown = server.post("/v1/tasks/no-such-task/retry", "{}");
    assert_eq!(
        (unknown.status, &unknown.body["error"]["code"]),
        (404, &json!("task_not_found")),
        "{unknown:?}"
    );
    let extra = server.post(&format!("/v1/tasks/{failed}/retry"), r#"{"x": 1}"#);
    assert_eq!(extra.status, 400, "{extra:?}");
}

#[test]
fn bad_requests_name_what_is_wrong_and_publish_nothing() {
    let env = Env::with_manifest(&manifest());
    let mut server = Server::start(&env, &[], &[("STEM_API_TOKENS", "sesame, peek:read")]);
    let big = "x".repeat(20 * 1024 * 1024);
    env.write(
        "big.json",
        &format!("{{\"task\": \"echo\", \"args\": [\"{big}\"]}}"),
    );
    let big_file = format!("@{}", env.file("big.json").display());
    let cases: Vec<(&str, Vec<&str>, u16, &str, &str)> = vec![
        (
            "malformed JSON",
            vec!["-d", r#"{"task": "echo""#],
            400,
            "invalid_field",
            "body: malformed JSON",
        ),
        (
            "args an object",
            vec!["-d", r#"{"task": "echo", "args": {"a": 1}}"#],
            400,
            "invalid_field",
            "args: expected a JSON array",
        ),
        (
            "a 20 MB body",
            vec!["--data-binary", &big_file],
            413,
            "body_too_large",
            "body: larger than",
        ),
        (
            "an unknown task",
            vec!["-d", r#"{"task": "nope"}"#],
            400,
            "unknown_task",
            "unknown task \"nope\"",
        ),
        (
            "one bad task of a batch",
            vec![
                "-d",
                r#"[{"task": "echo"}, {"task": "echo", "priority": 12}]"#,
            ],
            400,
            "invalid_field",
            "tasks[1]: priority",
        ),
        (
            "a wrong token",
            vec![
                "-H",
                "Authorization: Bearer nope",
                "-d",
                r#"{"task": "echo"}"#,
            ],
            401,
            "unauthorized",
            "not valid",
        ),
        (
            "a read-only token",
            vec![
                "-H",
                "Authorization: Bearer peek",
                "-d",
                r#"{"task": "echo"}"#,
            ],
            403,
            "forbidden",
            "read-only",
        ),
    ];
    for (what, mut args, status, code, message) in cases {
        if !args.contains(&"-H") {
            args.extend(["-H", "Authorization: Bearer sesame"]);
        }
        let reply = server.curl("POST", "/v1/tasks", &args);
        assert_eq!(reply.status, status, "{what}: {reply:?}");
        assert_eq!(reply.body["error"]["code"], code, "{what}: {reply:?}");
        let text = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            text.contains(message),
            "{what}: {text:?} does not say {message:?}"
        );
        assert!(server.alive(), "{what}: the server died");
    }
    let anonymous = server.post("/v1/tasks", r#"{"task": "echo"}"#);
    assert_eq!(
        (anonymous.status, &anonymous.body["error"]["code"]),
        (401, &json!("unauthorized")),
        "{anonymous:?}"
    );
    assert_eq!(server.get("/healthz").status, 200, "probes need no token");

    server.token = Some("peek".into());
    let counts = server.get("/v1/queues/default");
    assert_eq!(counts.status, 200, "a read token may GET: {counts:?}");
    assert_eq!(counts.body["ready"], 0, "nothing was published: {counts:?}");
    server.token = Some("sesame".into());
    let id = enqueue(&server, json!({"task": "echo"}));
    assert!(!id.is_empty());
    assert_eq!(
        server.get("/v1/queues/default").body["ready"],
        1,
        "still serving"
    );
}

#[test]
fn without_tokens_it_listens_only_on_loopback() {
    let env = Env::new();
    let out = env.stem(&["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("without API tokens"), "{out:?}");
}

#[test]
fn the_served_openapi_document_is_the_checked_in_one() {
    let env = Env::with_manifest(&manifest());
    let server = Server::start(&env, &[], &[]);
    let served = server.get("/v1/openapi.json");
    let file =
        std::fs::read_to_string(repo_root().join("docs/openapi.json")).expect("docs/openapi.json");
    let file: Value = serde_json::from_str(&file).expect("valid JSON");
    // A server with a manifest lists its task names (and workflow names, when it declares
    // any) as enums; otherwise the document is the checked-in one.
    let mut served_body = served.body.clone();
    let names = served_body
        .pointer_mut("/components/schemas/TaskSpec/properties/task")
        .and_then(|t| t.as_object_mut())
        .and_then(|t| t.remove("enum"))
        .expect("the manifest's task names");
    assert!(names.as_array().is_some_and(|n| !n.is_empty()), "{names}");
    // Without tokens (this server has none) nothing asks for a token.
    assert_eq!(served_body["security"], json!([]), "no tokens, no security");
    served_body["security"] = file["security"].clone();
    assert_eq!(
        served_body, file,
        "the served document differs from docs/openapi.json beyond the names and security"
    );
    // Every documented method of every path is routed (path parameters filled in with their
    // names; a route may still answer 404 for the thing, e.g. `run_not_found`).
    for (path, item) in file["paths"].as_object().expect("paths") {
        let concrete = path.replace(['{', '}'], "");
        for method in item.as_object().expect("methods").keys() {
            let extra: &[&str] = match (method.as_str(), path.as_str()) {
                ("get", "/v1/events") => &["--max-time", "1"],
                ("post", _) => &["--data-binary", "{}"],
                _ => &[],
            };
            let reply = server.curl(&method.to_uppercase(), &concrete, extra);
            let message = reply.body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                reply.status != 405 && !message.starts_with("no route"),
                "documented {method} {path} is not routed: {reply:?}"
            );
        }
    }
}

#[test]
fn tls_with_a_certificate_and_key() {
    let env = Env::new();
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(env.file("key.pem"))
        .arg("-out")
        .arg(env.file("cert.pem"))
        .output();
    match made {
        Ok(out) if out.status.success() => {}
        other => {
            eprintln!("tls_with_a_certificate_and_key: openssl could not make a certificate ({other:?}): skipping");
            return;
        }
    }
    let cert = env.file("cert.pem").display().to_string();
    let key = env.file("key.pem").display().to_string();
    let server = Server::start(&env, &["--tls-cert", &cert, "--tls-key", &key], &[]);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let reply = server.curl("GET", "/healthz", &["--cacert", &cert]);
    assert_eq!(
        (reply.status, &reply.body["ok"]),
        (200, &json!(true)),
        "{reply:?}"
    );
    let sent = server.curl(
        "POST",
        "/v1/tasks",
        &["--cacert", &cert, "-d", r#"{"task": "t"}"#],
    );
    assert_eq!(
        (sent.status, &sent.body["state"]),
        (200, &json!("pending")),
        "{sent:?}"
    );

    let bad = env.stem(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "/nonexistent.pem",
        "--tls-key",
        &key,
    ]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(
        bad.stderr.contains("TLS certificate or key unusable"),
        "{bad:?}"
    );
}
