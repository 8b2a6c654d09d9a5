//! A tokenless `stem serve` on loopback driven the way a hostile web page can
//! drive it — a "simple" cross-site POST (`text/plain`, no preflight), a DNS-rebound `Host`,
//! `Origin: null`, another port's origin, `Sec-Fetch-Site: cross-site` without an origin, on
//! every route that changes something — is refused and changes nothing; reads under a foreign
//! `Host` are refused too. Allowed origins get CORS answers; curl, the SDKs and the server's own
//! pages keep working; every answer carries the security headers.

use serde_json::{json, Value};
use stem_e2e::http::Server;
use stem_e2e::http_raw::{request, RawReply};
use stem_e2e::Env;

const EVIL: &str = "http://evil.example";
const JSON_CT: (&str, &str) = ("Content-Type", "application/json");

/// Request headers, the status and error code expected, and what the case is.
type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str, &'a str);

fn port_of(url: &str) -> &str {
    url.rsplit_once(':').expect("a port").1
}

/// Every task the store holds (records) and the default queue's counts: nothing may appear.
fn nothing_happened(env: &Env, server: &Server) {
    let listed = request(&server.url, "GET", "/v1/tasks", &[], None);
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(
        listed.body["count"], 0,
        "a refused request acted: {listed:?}"
    );
    assert!(env.queue_drained("default"), "a refused request published");
    let queue = request(&server.url, "GET", "/v1/queues/default", &[], None);
    assert_eq!(
        queue.body["paused"], false,
        "a refused request paused: {queue:?}"
    );
}

fn refused(reply: &RawReply, status: u16, code: &str, what: &str) {
    assert_eq!(
        (reply.status, reply.code()),
        (status, code),
        "{what}: {reply:?}"
    );
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty() && !message.contains('\n'),
        "{what}: {reply:?}"
    );
    assert_eq!(
        reply.header("access-control-allow-origin"),
        None,
        "{what}: {reply:?}"
    );
}

#[test]
fn a_tokenless_server_refuses_what_a_foreign_page_sends() {
    let env = Env::new();
    let server = Server::start_on(&env, "127.0.0.2:0", &[], &[]);
    let url = server.url.clone();
    let port = port_of(&url).to_string();
    let spec = r#"{"task": "rec", "args": [1]}"#;

    // The reproductions: a simple cross-site POST, and a DNS-rebound Host.
    let r = request(
        &url,
        "POST",
        "/v1/tasks",
        &[("Origin", EVIL), ("Content-Type", "text/plain")],
        Some(spec),
    );
    refused(&r, 403, "cross_origin", "text/plain from evil.example");
    let rebound = format!("evil.example:{port}");
    let r = request(
        &url,
        "POST",
        "/v1/tasks",
        &[("Host", &rebound), JSON_CT],
        Some(spec),
    );
    refused(&r, 403, "host_not_allowed", "Host: evil.example");

    // Variants.
    let other_port = format!(
        "http://127.0.0.2:{}",
        port.parse::<u16>().expect("port") ^ 1
    );
    let lookalike = format!("127.0.0.1.evil.example:{port}");
    let cases: Vec<Case> = vec![
        (
            vec![("Origin", "null"), JSON_CT],
            403,
            "cross_origin",
            "Origin: null",
        ),
        (
            vec![("Origin", &other_port), JSON_CT],
            403,
            "cross_origin",
            "another port",
        ),
        (
            vec![("Origin", EVIL), JSON_CT],
            403,
            "cross_origin",
            "JSON from evil",
        ),
        (
            vec![("Sec-Fetch-Site", "cross-site"), JSON_CT],
            403,
            "cross_origin",
            "cross-site, no Origin",
        ),
        (
            vec![("Sec-Fetch-Site", "same-site"), JSON_CT],
            403,
            "cross_origin",
            "same-site, no Origin",
        ),
        (
            vec![("Host", &lookalike), JSON_CT],
            403,
            "host_not_allowed",
            "loopback-looking name",
        ),
        (
            vec![("Content-Type", "text/plain")],
            415,
            "unsupported_media_type",
            "text/plain, no Origin",
        ),
        (
            vec![("Content-Type", "application/x-www-form-urlencoded")],
            415,
            "unsupported_media_type",
            "a form",
        ),
        (
            vec![],
            415,
            "unsupported_media_type",
            "a body without a type",
        ),
    ];
    for (headers, status, code, what) in &cases {
        let r = request(&url, "POST", "/v1/tasks", headers, Some(spec));
        refused(&r, *status, code, what);
    }

    // Every other route that changes something, from a foreign origin and a rebound host.
    for path in [
        "/v1/tasks/some-id/revoke",
        "/v1/queues/default/pause",
        "/v1/queues/default/resume",
        "/v1/queues/default/dead-letters/replay",
        "/v1/queues/default/dead-letters/purge",
    ] {
        let r = request(&url, "POST", path, &[("Origin", EVIL)], None);
        refused(&r, 403, "cross_origin", path);
        let r = request(
            &url,
            "POST",
            path,
            &[("Origin", EVIL), ("Content-Type", "text/plain")],
            Some("{}"),
        );
        refused(&r, 403, "cross_origin", path);
        let r = request(
            &url,
            "POST",
            path,
            &[("Host", &rebound), JSON_CT],
            Some("{}"),
        );
        refused(&r, 403, "host_not_allowed", path);
        let r = request(&url, "DELETE", path, &[("Origin", EVIL)], None);
        refused(&r, 403, "cross_origin", path);
    }
    // DNS rebinding reads: data, the dashboard, the event stream.
    for path in [
        "/v1/tasks",
        "/v1/queues",
        "/",
        "/ui/tasks",
        "/v1/events",
        "/healthz",
    ] {
        let r = request(&url, "GET", path, &[("Host", &rebound)], None);
        refused(&r, 403, "host_not_allowed", path);
    }
    // A preflight from a page nobody allowed.
    let r = request(
        &url,
        "OPTIONS",
        "/v1/tasks",
        &[
            ("Origin", EVIL),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        None,
    );
    refused(&r, 403, "cross_origin", "preflight from evil");
    nothing_happened(&env, &server);

    // What keeps working: curl and the SDKs (no Origin), the server's own pages (its origin,
    // `Sec-Fetch-Site: same-origin`), loopback names with and without the port.
    let own = format!("http://127.0.0.2:{port}");
    let localhost = format!("localhost:{port}");
    for (headers, what) in [
        (vec![JSON_CT], "no Origin"),
        (
            vec![
                ("Origin", own.as_str()),
                ("Sec-Fetch-Site", "same-origin"),
                JSON_CT,
            ],
            "own origin",
        ),
        (
            vec![("Host", localhost.as_str()), JSON_CT],
            "Host: localhost:PORT",
        ),
        (vec![("Host", "127.0.0.1"), JSON_CT], "Host: 127.0.0.1"),
        (vec![("Host", "[::1]"), JSON_CT], "Host: [::1]"),
        (
            vec![("Content-Type", "application/json; charset=utf-8")],
            "charset",
        ),
    ] {
        let r = request(&url, "POST", "/v1/tasks", &headers, Some(spec));
        assert_eq!(r.status, 200, "{what}: {r:?}");
    }
    let r = request(
        &url,
        "POST",
        "/v1/tasks",
        &[("Content-Type", "application/x-ndjson")],
        Some("{\"task\": \"rec\"}\n{\"task\": \"rec\"}\n"),
    );
    assert_eq!((r.status, &r.body["count"]), (200, &json!(2)), "{r:?}");
    let r = request(&url, "POST", "/v1/queues/default/pause", &[], None);
    assert_eq!(r.status, 200, "pause without a body: {r:?}");
}

#[test]
fn allowed_hosts_and_origins_get_deliberate_cors() {
    let env = Env::new();
    let app = "http://app.example:3000";
    let server = Server::start(
        &env,
        &[
            "--allow-origin",
            app,
            "--allow-origin",
            "https://ops.example",
        ],
        &[("STEM_SERVE_ALLOW_HOSTS", "stem.test,other.test:1")],
    );
    let url = server.url.clone();
    let spec = r#"{"task": "rec"}"#;

    let pre = request(
        &url,
        "OPTIONS",
        "/v1/tasks",
        &[
            ("Origin", app),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "authorization, content-type",
            ),
        ],
        None,
    );
    assert_eq!(pre.status, 204, "{pre:?}");
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some(app),
        "{pre:?}"
    );
    let methods = pre
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{pre:?}"
    );
    let allowed = pre
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{pre:?}"
    );
    assert!(pre.header("access-control-max-age").is_some(), "{pre:?}");

    let post = request(
        &url,
        "POST",
        "/v1/tasks",
        &[("Origin", app), JSON_CT],
        Some(spec),
    );
    assert_eq!(post.status, 200, "{post:?}");
    assert_eq!(post.header("access-control-allow-origin"), Some(app));
    let ops = request(
        &url,
        "POST",
        "/v1/tasks",
        &[("Origin", "https://ops.example"), JSON_CT],
        Some(spec),
    );
    assert_eq!(ops.status, 200, "the second --allow-origin: {ops:?}");

    // A foreign origin reads nothing through the browser: no CORS header on its answer.
    let read = request(&url, "GET", "/v1/tasks", &[("Origin", EVIL)], None);
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.header("access-control-allow-origin"), None, "{read:?}");
    let read = request(&url, "GET", "/v1/tasks", &[("Origin", app)], None);
    assert_eq!(read.header("access-control-allow-origin"), Some(app));

    let host = format!("stem.test:{}", port_of(&url));
    let named = request(&url, "GET", "/v1/tasks", &[("Host", &host)], None);
    assert_eq!(named.status, 200, "STEM_SERVE_ALLOW_HOSTS: {named:?}");
    let wrong_port = request(&url, "GET", "/v1/tasks", &[("Host", "other.test:2")], None);
    assert_eq!(
        wrong_port.status, 403,
        "a NAME:PORT entry is that port only: {wrong_port:?}"
    );
    let bad = Env::new().stem(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--allow-origin",
        "app.example",
    ]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(
        bad.stderr.contains("--allow-origin \"app.example\"")
            && bad.stderr.trim().lines().count() == 1,
        "{bad:?}"
    );
}

#[test]
fn every_answer_carries_the_security_headers() {
    let env = Env::new();
    let server = Server::start(&env, &[], &[]);
    for path in [
        "/",
        "/ui/tasks",
        "/ui/canvases",
        "/ui/app.js",
        "/v1/tasks",
        "/nowhere",
    ] {
        let r = request(&server.url, "GET", path, &[], None);
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}: {r:?}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}: {r:?}");
        assert_eq!(
            r.header("referrer-policy"),
            Some("same-origin"),
            "{path}: {r:?}"
        );
        let csp = r.header("content-security-policy").unwrap_or_default();
        for part in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    }
    let page = request(&server.url, "GET", "/", &[], None);
    assert_no_inline_script(&page.body);

    // With tokens: the login form has no inline script either.
    let env = Env::new();
    let server = Server::start(&env, &[], &[("STEM_API_TOKENS", "s3cret")]);
    let login = request(&server.url, "GET", "/", &[], None);
    assert_eq!(login.status, 401, "{login:?}");
    assert_no_inline_script(&login.body);
    let script = request(&server.url, "GET", "/ui/login.js", &[], None);
    assert_eq!(script.status, 200, "{script:?}");
}

fn assert_no_inline_script(body: &Value) {
    let html = body.as_str().expect("HTML");
    for (i, _) in html.match_indices("<script") {
        let tag = &html[i..html[i..].find('>').map_or(html.len(), |e| i + e)];
        assert!(tag.contains(" src="), "an inline script: {tag}");
    }
}

#[test]
fn with_tokens_the_bearer_header_is_what_protects_writes() {
    let env = Env::new();
    let server = Server::start(&env, &[], &[("STEM_API_TOKENS", "s3cret")]);
    let url = server.url.clone();
    let spec = r#"{"task": "rec"}"#;
    let bearer = ("Authorization", "Bearer s3cret");
    // A page cannot send the header without a preflight, which is refused.
    let pre = request(
        &url,
        "OPTIONS",
        "/v1/tasks",
        &[("Origin", EVIL), ("Access-Control-Request-Method", "POST")],
        None,
    );
    refused(&pre, 403, "cross_origin", "preflight with tokens");
    // Without the header a simple cross-site post is refused (no cookie acts on a POST).
    let r = request(
        &url,
        "POST",
        "/v1/tasks",
        &[
            ("Origin", EVIL),
            ("Content-Type", "text/plain"),
            ("Cookie", "stem_token=s3cret"),
        ],
        Some(spec),
    );
    assert!(matches!(r.status, 401 | 415), "{r:?}");
    // A form body is refused even with a valid token; a JSON one passes under any Host.
    let r = request(
        &url,
        "POST",
        "/v1/tasks",
        &[bearer, ("Content-Type", "text/plain")],
        Some(spec),
    );
    refused(&r, 415, "unsupported_media_type", "text/plain with a token");
    let r = request(
        &url,
        "POST",
        "/v1/tasks",
        &[bearer, ("Host", "stem.example.com"), JSON_CT],
        Some(spec),
    );
    assert_eq!(r.status, 200, "{r:?}");
}
