//! A tokenless `stem serve` on loopback driven the way a hostile web page can
//! drive it — a "simple" cross-site POST (`text/plain`, no preflight), a DNS-rebound `Host`,
//! `Origin: null`, another port's origin, `Sec-Fetch-Site: cross-site` without an origin, on
//! every route that changes something — is refused and changes nothing; reads under a foreign
//! `Host` are refused too. Allowed origins get CORS answers; curl, the SDKs and the server's own
//! pages keep working; every answer carries the security headers.

use serde_json::json;
use stem_e2e::http::Server;
use stem_e2e::http_raw::{request, RawReply};
use stem_e2e::Env;

pub(super) const EVIL: &str = "http://evil.example";
pub(super) const JSON_CT: (&str, &str) = ("Content-Type", "application/json");

/// Request headers, the status and error code expected, and what the case is.
type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str, &'a str);

pub(super) fn port_of(url: &str) -> &str {
    url.rsplit_once(':').expect("a port").1
}

/// Every task the store holds (records) and the default queue's counts: nothing may appear.
pub(super) fn nothing_happened(env: &Env, server: &Server) {
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

pub(super) fn refused(reply: &RawReply, status: u16, code: &str, what: &str) {
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
