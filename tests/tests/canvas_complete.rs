//! Issue 26: batches that report completion — a chord with `on_complete` runs its callback once
//! every member finished, whatever the outcomes, with the members' outcomes in member order
//! (a chain member's failure ends that member, its rest skipped); the canvas succeeds with the
//! callback's result, `stem canvas show` and the dashboard sum the nodes up; and with a worker SIGKILLed
//! mid-batch while another finishes (SQLite, Redis, Postgres) the callback runs exactly once.

use serde_json::{json, Value};
use stem_e2e::http::Server;
use stem_e2e::stores::{world, Store};
use stem_e2e::{repo_root, wait_for, Env, PATIENCE};

const TASKS: &str = r#"import json, os, time
from stem_sdk import run, task

def note(name, line):
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), name), "a") as f:
        f.write(line + "\n")

@task("add")
def add(a, b):
    return a + b

@task("double")
def double(x):
    return 2 * x

@task("boom")
def boom(*args):
    raise ValueError("boom %s" % (args,))

@task("slow")
def slow(i):
    time.sleep(0.3)
    if i % 4 == 0:
        raise ConnectionError("member %d failed" % i)
    return i

@task("report")
def report(outcomes):
    note("report.txt", json.dumps(outcomes))
    return {"ok": sum(o["state"] == "success" for o in outcomes),
            "failed": sum(o["state"] != "success" for o in outcomes)}

if __name__ == "__main__":
    run()
"#;

fn manifest() -> String {
    let sdk = repo_root().join("sdk-python");
    let mut m = format!(
        "[runtimes.python]\ncommand = [\"python3\", \"tasks.py\"]\nisolation = \"pool\"\n\
         env = {{ PYTHONPATH = {:?} }}\n",
        sdk.display()
    );
    for t in ["add", "double", "boom", "slow", "report"] {
        m.push_str(&format!(
            "\n[tasks.{t}]\nruntime = \"python\"\nmax_retries = 0\ntime_limit = \"60s\"\n"
        ));
    }
    m
}

fn submit(env: &Env, doc: &Value) -> String {
    env.write("canvas.json", &doc.to_string());
    env.stem(&["canvas", "submit", "canvas.json", "--json"])
        .success()
        .json()["id"]
        .as_str()
        .expect("a canvas id")
        .to_string()
}

fn show(env: &Env, id: &str) -> Value {
    env.stem(&["canvas", "show", id, "--json"]).success().json()
}

/// Waits until the canvas is settled and nothing is left to deliver.
fn settled(env: &Env, id: &str) -> Value {
    let mut view = Value::Null;
    assert!(
        wait_for(PATIENCE, || {
            view = show(env, id);
            view["state"] != "running" && view["state"] != "pending" && env.queue_drained("default")
        }),
        "canvas {id} did not settle: {view}\n{}",
        env.worker_logs()
    );
    view
}

#[test]
fn on_complete_gets_every_outcome_in_order_and_the_canvas_succeeds() {
    let env = Env::with_manifest(&manifest());
    env.write("tasks.py", TASKS);
    let doc = json!({"chord": {"header": [
        {"task": "add", "args": [1, 2]},
        {"task": "boom", "args": ["x"]},
        {"chain": [{"task": "add", "args": [3, 4]}, {"task": "boom"}, {"task": "double"}]},
        {"task": "add", "args": [5, 0]}
    ], "on_complete": {"task": "report"}}});
    let id = submit(&env, &doc);
    let _worker = env.worker(&["--concurrency", "2"]);
    let view = settled(&env, &id);
    assert_eq!(view["state"], "success", "{view}");
    assert_eq!(view["result"], json!({"ok": 2, "failed": 2}), "{view}");
    assert!(view.get("failed").is_none(), "absorbed failures: {view}");
    assert_eq!(
        view["summary"],
        json!({"succeeded": 4, "failed": 2, "pending": 0, "skipped": 1, "revoked": 0}),
        "{view}"
    );
    let skipped: Vec<&Value> = view["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["state"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 1, "{view}");
    assert_eq!(skipped[0]["task_id"], format!("{id}:2.2"), "{view}");

    let runs: Vec<Value> = env
        .read("report.txt")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(runs.len(), 1, "the callback ran once: {runs:?}");
    let outcomes = runs[0].as_array().expect("a list of outcomes");
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert_eq!(
        outcomes[0],
        json!({"id": format!("{id}:0"), "state": "success", "result": 3})
    );
    assert_eq!(outcomes[1]["id"], format!("{id}:1"));
    assert_eq!(outcomes[1]["state"], "failure");
    assert_eq!(outcomes[1]["error"]["type"], "ValueError");
    assert_eq!(
        outcomes[2]["id"],
        format!("{id}:2.1"),
        "the chain's failed node"
    );
    assert_eq!(outcomes[2]["state"], "failure");
    assert_eq!(
        outcomes[3],
        json!({"id": format!("{id}:3"), "state": "success", "result": 5})
    );

    // The text view sums it up.
    let out = env.stem(&["canvas", "show", &id]).success();
    assert!(
        out.stdout
            .contains("summary: 4 succeeded, 2 failed, 0 pending, 1 skipped"),
        "{out:?}"
    );
    // And so does the dashboard.
    let server = Server::start(&env, &[], &[]);
    let page = server.get(&format!("/ui/canvases/{id}"));
    let html = page.body.as_str().unwrap_or_default();
    assert!(
        html.contains("<p id=\"canvas-summary\">4 succeeded, 2 failed, 0 pending, 1 skipped</p>"),
        "{html}"
    );
}

fn killed_worker(store: Store) {
    let Some(env) = world(store, &manifest(), "on_complete under a killed worker") else {
        return;
    };
    env.write("tasks.py", TASKS);
    let header: Vec<Value> = (0..40)
        .map(|i| json!({"task": "slow", "args": [i]}))
        .collect();
    let id = submit(
        &env,
        &json!({"chord": {"header": header, "on_complete": {"task": "report"}}}),
    );
    let args = ["--concurrency", "4", "--visibility-timeout", "2s"];
    let mut a = env.worker(&args);
    let _b = env.worker(&args);
    assert!(
        wait_for(PATIENCE, || show(&env, &id)["summary"]["succeeded"]
            .as_u64()
            .is_some_and(|n| n >= 5)),
        "no progress\n{}",
        env.worker_logs()
    );
    let before = show(&env, &id);
    assert!(
        before["summary"]["pending"].as_u64().is_some_and(|n| n > 0),
        "killed mid-batch: {before}"
    );
    a.kill();
    let view = settled(&env, &id);
    assert_eq!(view["state"], "success", "{view}");
    assert_eq!(view["result"], json!({"ok": 30, "failed": 10}), "{view}");
    let runs: Vec<Value> = env
        .read("report.txt")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        runs.len(),
        1,
        "the callback ran exactly once: {} runs",
        runs.len()
    );
    let outcomes = runs[0].as_array().expect("a list of outcomes");
    assert_eq!(outcomes.len(), 40);
    for (i, o) in outcomes.iter().enumerate() {
        assert_eq!(o["id"], format!("{id}:{i}"), "in member order: {o}");
        if i % 4 == 0 {
            assert_eq!(o["state"], "failure", "{o}");
            assert_eq!(o["error"]["type"], "ConnectionError", "{o}");
        } else {
            assert_eq!(o["state"], "success", "{o}");
            assert_eq!(o["result"], json!(i), "{o}");
        }
    }
}

#[test]
fn sqlite_on_complete_runs_once_under_a_killed_worker() {
    killed_worker(Store::Sqlite);
}

#[test]
fn redis_on_complete_runs_once_under_a_killed_worker() {
    killed_worker(Store::Redis);
}

#[test]
fn postgres_on_complete_runs_once_under_a_killed_worker() {
    killed_worker(Store::Postgres);
}
