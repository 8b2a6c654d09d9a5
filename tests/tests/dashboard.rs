//! Issue 14: the dashboard behind tokens: a page without a token answers the sign-in form (401),
//! the form's cookie lets GET pages through, and an action needs the header (a cookie alone is
//! refused, so another site cannot post with it). The pages escape what tasks carry; a queue
//! page counts its fairness keys.

use stem_e2e::http::Server;
use stem_e2e::Env;

#[test]
fn the_dashboard_signs_in_with_a_cookie_and_actions_need_the_header() {
    let env = Env::with_manifest("[tasks.ok]\nexec = [\"true\"]\n");
    let server = Server::start(&env, &[], &[("STEM_API_TOKENS", "s3cret:admin")]);
    let page = server.curl("GET", "/", &[]);
    assert_eq!(page.status, 401);
    assert!(
        page.body.as_str().unwrap_or("").contains("Sign in"),
        "{:?}",
        page.body
    );
    let page = server.curl("GET", "/", &["-H", "Cookie: stem_token=s3cret"]);
    assert_eq!(page.status, 200, "{:?}", page.body);
    assert!(page
        .body
        .as_str()
        .unwrap_or("")
        .contains("<h1>Overview</h1>"));
    let css = server.curl("GET", "/ui/app.css", &[]);
    assert_eq!(css.status, 200, "the assets need no token");
    let api = server.curl("GET", "/v1/queues", &[]);
    assert_eq!(api.status, 401, "the API still answers JSON");
    let post = server.curl(
        "POST",
        "/v1/queues/default/pause",
        &["-H", "Cookie: stem_token=s3cret", "-d", "{}"],
    );
    assert_eq!(
        post.status, 401,
        "a cookie alone does not authorize an action"
    );
    let post = server.curl(
        "POST",
        "/v1/queues/default/pause",
        &["-H", "Authorization: Bearer s3cret", "-d", "{}"],
    );
    assert_eq!(post.status, 200, "{:?}", post.body);
}

#[test]
fn task_arguments_are_escaped_on_every_page() {
    let env = Env::with_manifest("[tasks.ok]\nexec = [\"true\"]\n");
    let _worker = env.worker(&[]);
    let id = env.enqueue("ok", &["--args", "[\"<script>alert(1)</script>\"]"]);
    env.outcome(&id);
    let server = Server::start(&env, &[], &[]);
    for path in [
        format!("/ui/tasks/{id}"),
        "/ui/tasks".to_string(),
        "/".to_string(),
    ] {
        let page = server.get(&path);
        assert_eq!(page.status, 200, "{path}");
        let html = page.body.as_str().unwrap_or("");
        assert!(!html.contains("<script>alert"), "{path} has the raw script");
    }
    let html = server.get(&format!("/ui/tasks/{id}")).body;
    assert!(
        html.as_str()
            .unwrap()
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the argument is shown as text"
    );
}

#[test]
fn the_queues_page_shows_a_stored_pause() {
    let env = Env::with_manifest("[tasks.ok]\nexec = [\"true\"]\n");
    env.enqueue("ok", &[]);
    let server = Server::start(&env, &[], &[]);
    let before = server.get("/ui/queues").body;
    assert!(!before.as_str().unwrap().contains(">paused<"), "{before}");
    env.stem(&["queue", "pause", "default"]).success();
    let after = server.get("/ui/queues").body;
    assert!(after.as_str().unwrap().contains(">paused<"), "{after}");
}

#[test]
fn a_queue_page_counts_its_fairness_keys_escaped() {
    let env = Env::with_manifest("[tasks.ok]\nexec = [\"true\"]\n");
    env.stem(&["enqueue", "ok", "--fair-key", "acme", "--repeat", "3"])
        .success();
    env.stem(&["enqueue", "ok", "--fair-key", "<b>evil</b>"])
        .success();
    env.enqueue("ok", &[]);
    let server = Server::start(&env, &[], &[]);
    let page = server.get("/ui/queues/default");
    assert_eq!(page.status, 200);
    let html = page.body.as_str().unwrap_or("").to_string();
    assert!(html.contains("id=\"fair-keys\""), "{html}");
    assert!(
        html.contains("<td><code>acme</code></td><td>3</td><td>0</td>"),
        "three waiting for acme, none leased: {html}"
    );
    assert!(!html.contains("<b>evil</b>"), "a key is shown as text");
    assert!(html.contains("&lt;b&gt;evil&lt;/b&gt;"), "{html}");
}
