//! Issue 22, item 9: a canvas's own record is settled by the worker. A chord that succeeded is
//! `success` in `stem tasks list` (not `pending`), with its result; a chain whose link failed
//! is `failure` there and its nodes that can never run are `skipped` in `stem tasks list`,
//! `stem canvas show` and the dashboard alike, while a callback's success settles nothing. The
//! record is read before anything calls `canvas show` (which would also write it), so the
//! worker's own write is what is checked; on SQLite, Redis and Postgres.

use serde_json::{json, Value};
use stem_e2e::http::Server;
use stem_e2e::stores::{world, Store};
use stem_e2e::{repo_root, wait_for_value, Env, PATIENCE};

const TASKS: &str = r#"import os
from stem_sdk import run, task

@task("ident")
def ident(i):
    return i

@task("tsum")
def tsum(xs, *rest):
    return sum(xs) + sum(rest)

@task("boom")
def boom(*args):
    raise ValueError("boom on purpose")

@task("note")
def note(x):
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.txt"), "a") as f:
        f.write("%r\n" % (x,))
    return True

if __name__ == "__main__":
    run()
"#;

fn setup(store: Store, test: &str) -> Option<Env> {
    let sdk = repo_root().join("sdk-python");
    let mut m = format!(
        "[runtimes.python]\ncommand = [\"python3\", \"tasks.py\"]\nisolation = \"pool\"\n\
         env = {{ PYTHONPATH = {:?} }}\n",
        sdk.display()
    );
    for t in ["ident", "tsum", "boom", "note"] {
        m.push_str(&format!(
            "\n[tasks.{t}]\nruntime = \"python\"\nmax_retries = 0\ntime_limit = \"60s\"\n"
        ));
    }
    let env = world(store, &m, test)?;
    env.write("tasks.py", TASKS);
    Some(env)
}

fn submit(env: &Env, doc: &Value) -> String {
    env.write("canvas.json", &doc.to_string());
    let out = env
        .stem(&["canvas", "submit", "canvas.json", "--json"])
        .success();
    out.json()["id"].as_str().expect("an id").to_string()
}

/// The records `stem tasks list` shows, by id.
fn listed(env: &Env) -> std::collections::HashMap<String, Value> {
    let out = env
        .stem(&["tasks", "list", "--limit", "1000", "--json"])
        .success();
    let all = out.json();
    let tasks = all
        .get("tasks")
        .cloned()
        .unwrap_or(all)
        .as_array()
        .cloned()
        .unwrap_or_default();
    tasks
        .into_iter()
        .filter_map(|t| Some((t["id"].as_str()?.to_string(), t)))
        .collect()
}

/// Waits until `stem tasks list` shows record `id` in a final state; that record.
fn settled(env: &Env, id: &str) -> Value {
    wait_for_value(PATIENCE, || {
        listed(env).remove(id).filter(|r| {
            !matches!(
                r["state"].as_str(),
                Some("pending" | "started" | "received")
            )
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "canvas {id} never settled in tasks list: {:?}\n{}",
            listed(env).get(id),
            env.worker_logs()
        )
    })
}

fn chord_success_is_recorded(store: Store) {
    let Some(env) = setup(store, "canvas final: chord") else {
        return;
    };
    let _w = env.worker(&["--concurrency", "2"]);
    let doc = json!({"chord": {
        "header": [{"task": "ident", "args": [1]}, {"task": "ident", "args": [2]}],
        "body": {"task": "tsum", "link": {"task": "note"}}}});
    let id = submit(&env, &doc);
    let record = settled(&env, &id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["name"], "stem.canvas", "{record}");
    assert_eq!(record["result"]["result"], json!(3), "{record}");
    let view = env
        .stem(&["canvas", "show", &id, "--json"])
        .success()
        .json();
    assert_eq!(
        (&view["state"], &view["result"]),
        (&json!("success"), &json!(3))
    );
    // The body's link callback ran and left the canvas as it was.
    let noted = wait_for_value(PATIENCE, || {
        Some(env.read("notes.txt")).filter(|n| !n.is_empty())
    });
    assert!(noted.is_some(), "the link callback ran");
    assert_eq!(settled(&env, &id)["state"], "success");
}

fn failed_chain_skips_the_rest(store: Store) {
    let Some(env) = setup(store, "canvas final: failed chain") else {
        return;
    };
    let _w = env.worker(&["--concurrency", "2"]);
    // ident(1) | boom | ident | chord([ident(5), ident(6)], tsum): everything after boom is
    // skipped. A failed chord member in a second canvas skips the body only.
    let doc = json!({"chain": [
        {"task": "ident", "args": [1]},
        {"task": "boom", "link_error": {"task": "note"}},
        {"task": "ident"},
        {"chord": {"header": [{"task": "ident", "args": [5]}, {"task": "ident", "args": [6]}],
                   "body": {"task": "tsum"}}}
    ]});
    let id = submit(&env, &doc);
    let record = settled(&env, &id);
    assert_eq!(record["state"], "failure", "{record}");
    let message = record["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("{id}:1")), "{record}");
    let records = listed(&env);
    let state = |path: &str| records[&format!("{id}:{path}")]["state"].clone();
    assert_eq!(state("0"), "success");
    assert_eq!(state("1"), "failure");
    for path in ["2", "3.0", "3.1", "3b"] {
        assert_eq!(state(path), "skipped", "{path}: {records:?}");
    }
    let view = env
        .stem(&["canvas", "show", &id, "--json"])
        .success()
        .json();
    assert_eq!(view["state"], "failure", "{view}");
    let shown: Vec<&str> = view["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["state"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        shown,
        ["success", "failure", "skipped", "skipped", "skipped", "skipped"],
        "{view}"
    );
    let out = env
        .stem(&["tasks", "list", "--state", "skipped", "--json"])
        .success();
    assert!(out.stdout.contains(&format!("{id}:3b")), "{out:?}");

    // The dashboard says the same.
    let server = Server::start(&env, &[], &[]);
    let page = server.get(&format!("/ui/canvases/{id}"));
    let html = page.body.as_str().unwrap_or_default();
    assert!(
        html.matches("<span class=\"state skipped\">skipped</span>")
            .count()
            == 4,
        "{html}"
    );
    assert!(
        html.contains("<span class=\"state failure\">failure</span>"),
        "{html}"
    );

    // A chord with a failed member: the body is skipped, the other members ran.
    let doc = json!({"chord": {
        "header": [{"task": "ident", "args": [1]}, {"task": "boom"}, {"task": "ident", "args": [3]}],
        "body": {"chain": [{"task": "tsum"}, {"task": "ident"}]}}});
    let id = submit(&env, &doc);
    assert_eq!(settled(&env, &id)["state"], "failure");
    let records = listed(&env);
    let members: Vec<Value> = ["0", "1", "2", "b.0", "b.1"]
        .iter()
        .map(|p| {
            wait_for_value(PATIENCE, || {
                let r = listed(&env).remove(&format!("{id}:{p}"))?;
                matches!(r["state"].as_str(), Some("success" | "failure" | "skipped"))
                    .then(|| r["state"].clone())
            })
            .unwrap_or_else(|| panic!("{p}: {records:?}"))
        })
        .collect();
    assert_eq!(
        members,
        ["success", "failure", "success", "skipped", "skipped"],
        "{records:?}"
    );
}

#[test]
fn sqlite_chord_success_is_recorded() {
    chord_success_is_recorded(Store::Sqlite);
}

#[test]
fn redis_chord_success_is_recorded() {
    chord_success_is_recorded(Store::Redis);
}

#[test]
fn postgres_chord_success_is_recorded() {
    chord_success_is_recorded(Store::Postgres);
}

#[test]
fn sqlite_a_failed_chain_skips_the_rest() {
    failed_chain_skips_the_rest(Store::Sqlite);
}

#[test]
fn redis_a_failed_chain_skips_the_rest() {
    failed_chain_skips_the_rest(Store::Redis);
}

#[test]
fn postgres_a_failed_chain_skips_the_rest() {
    failed_chain_skips_the_rest(Store::Postgres);
}
