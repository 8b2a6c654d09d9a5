//! The answers a tokenless `stem serve` gives on purpose: CORS only for allowed hosts and
//! origins, the security headers on every answer (and no inline script on the dashboard), and
//! with tokens the bearer header as what protects writes.

use super::serve::{port_of, refused, EVIL, JSON_CT};
use serde_json::Value;
use stem_e2e::http::Server;
use stem_e2e::http_raw::request;
use stem_e2e::Env;

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
