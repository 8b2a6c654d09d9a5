//! Canvas end to end on the real binary with a warm Python pool: chains, groups, chords and
//! their nesting give the results a hand-written sequence gives; a failing member stops its
//! chord (the body never runs, `link_error` runs once, `canvas show` names the member); a
//! revoked canvas runs no further node; a malformed document is refused with its path; and on
//! Redis and Postgres a 1,000-member chord drained by three workers, one SIGKILLed and one
//! frozen past its lease, runs its body exactly once with the 1,000 results in order.

use nix::sys::signal::Signal;
use serde_json::{json, Value};
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

@task("ident")
def ident(i):
    time.sleep(0.005)
    return i

@task("tsum")
def tsum(xs, *rest):
    note("body.txt", json.dumps(xs))
    return sum(xs) + sum(rest)

@task("boom")
def boom(*args):
    raise ValueError("boom")

@task("on_error")
def on_error(info):
    note("errors.txt", info["task_id"])
    return True

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
    for t in ["add", "double", "ident", "tsum", "boom", "on_error"] {
        m.push_str(&format!(
            "\n[tasks.{t}]\nruntime = \"python\"\nmax_retries = 0\ntime_limit = \"60s\"\n"
        ));
    }
    m
}

fn setup(store: Store, test: &str) -> Option<Env> {
    let env = world(store, &manifest(), test)?;
    env.write("tasks.py", TASKS);
    Some(env)
}

/// `stem canvas submit -` with `doc`, `--wait`: the canvas view as JSON.
fn submit_wait(env: &Env, doc: &Value) -> Value {
    env.write("canvas.json", &doc.to_string());
    let out = env.stem(&[
        "canvas",
        "submit",
        "canvas.json",
        "--wait",
        "--timeout",
        "60",
        "--json",
    ]);
    serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("no view ({e}): {out:?}\n{}", env.worker_logs()))
}

fn start_worker(env: &Env, id: &str) -> stem_e2e::Worker {
    env.worker_with_env(
        &[
            "--worker-id",
            id,
            "--concurrency",
            "2",
            "--visibility-timeout",
            "2s",
        ],
        &[],
    )
}

#[test]
fn chains_groups_and_chords_match_the_hand_written_sequence() {
    let env = setup(Store::Sqlite, "canvas shapes").expect("sqlite");
    let _w = start_worker(&env, "w1");
    // a | group(b, c) | d, with a = add(1, 2) = 3; b = double(3) = 6; c = add(3, 10) = 13;
    // d = tsum([6, 13]) = 19.
    let doc = json!({"chain": [
        {"task": "add", "args": [1, 2]},
        {"group": [{"task": "double"}, {"task": "add", "args": [10]}]},
        {"task": "tsum"}
    ]});
    let view = submit_wait(&env, &doc);
    assert_eq!(view["state"], "success", "{view}");
    assert_eq!(view["result"], json!(19));
    // A group of chains: [double(add(1, 1)), double(add(2, 2))] = [4, 8].
    let doc = json!({"group": [
        {"chain": [{"task": "add", "args": [1, 1]}, {"task": "double"}]},
        {"chain": [{"task": "add", "args": [2, 2]}, {"task": "double"}]}
    ]});
    let view = submit_wait(&env, &doc);
    assert_eq!(view["result"], json!([4, 8]), "{view}");
    // A chord whose body is a chain, and an immutable signature.
    let doc = json!({"chord": {"header": [{"task": "ident", "args": [1]}, {"task": "ident", "args": [2]}],
        "body": {"chain": [{"task": "tsum"}, {"task": "add", "args": [5, 5], "immutable": true}]}}});
    let view = submit_wait(&env, &doc);
    assert_eq!(view["result"], json!(10), "{view}");
}

#[test]
fn a_failing_member_fails_its_chord_once_and_a_revoked_canvas_stops() {
    let env = setup(Store::Sqlite, "canvas failure").expect("sqlite");
    let _w = start_worker(&env, "w1");
    let doc = json!({"chord": {
        "header": [{"task": "ident", "args": [1]}, {"task": "boom"}, {"task": "ident", "args": [3]}],
        "body": {"task": "tsum", "link_error": {"task": "on_error"}}}});
    let view = submit_wait(&env, &doc);
    assert_eq!(view["state"], "failure", "{view}");
    assert!(
        view["failed"]
            .as_str()
            .unwrap_or("")
            .contains("chord.header[1]"),
        "{view}"
    );
    assert!(
        wait_for(PATIENCE, || env.read("errors.txt").lines().count() == 1),
        "link_error once"
    );
    assert_eq!(env.read("body.txt"), "", "the body never ran");
    // The errback ran once, for the failed member; still once a moment later.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(env.read("errors.txt").lines().count(), 1);

    // Revoke a chain before it runs: no node runs.
    env.write(
        "chain.json",
        &json!({"chain": [{"task": "add", "args": [1, 2]}, {"task": "tsum"}]}).to_string(),
    );
    drop(_w);
    let out = env
        .stem(&["canvas", "submit", "chain.json", "--json"])
        .success();
    let id = out.json()["id"].as_str().unwrap().to_string();
    env.stem(&["revoke", &id]).success();
    let _w2 = start_worker(&env, "w2");
    assert!(wait_for(PATIENCE, || {
        let v = env.stem(&["canvas", "show", &id, "--json"]).json();
        v["nodes"][0]["state"] == "revoked"
    }));
    let v = env.stem(&["canvas", "show", &id, "--json"]).json();
    // No further node runs: the revoked canvas records it revoked too, never to run.
    assert!(
        wait_for(PATIENCE, || {
            let v = env.stem(&["canvas", "show", &id, "--json"]).json();
            v["nodes"][1]["state"] == "revoked" && v["state"] == "revoked"
        }),
        "the rest of a revoked chain is recorded revoked: {v}"
    );
    assert_eq!(env.read("body.txt"), "", "the next node never ran");
}

#[test]
fn a_malformed_canvas_is_refused_with_its_path() {
    let env = setup(Store::Sqlite, "canvas bad input").expect("sqlite");
    for (doc, want) in [
        (
            json!({"chord": {"header": [{"task": "add"}, {"task": "add"}, {"task": "add"}, {"task": "nosuch"}], "body": {"task": "tsum"}}}),
            "chord.header[3].task: unknown task \"nosuch\"",
        ),
        (json!({"group": []}), "group: an empty group"),
        (
            json!({"chord": {"header": [{"task": "add"}], "body": [1]}}),
            "chord.body: expected a signature",
        ),
    ] {
        env.write("bad.json", &doc.to_string());
        let out = env.stem(&["canvas", "submit", "bad.json"]);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(out.stderr.contains(want), "{want:?} in {out:?}");
        assert_eq!(out.stderr.trim().lines().count(), 1, "one line: {out:?}");
    }
    assert!(env.queue_drained("default"), "nothing published");
}

fn big_chord(store: Store) {
    let Some(env) = setup(store, "canvas big chord") else {
        return;
    };
    let header: Vec<Value> = (0..1000)
        .map(|i| json!({"task": "ident", "args": [i]}))
        .collect();
    env.write(
        "chord.json",
        &json!({"chord": {"header": header, "body": {"task": "tsum"}}}).to_string(),
    );
    let id = env
        .stem(&["canvas", "submit", "chord.json", "--json"])
        .success()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut a = start_worker(&env, "a");
    let b = start_worker(&env, "b");
    let c = start_worker(&env, "c");
    // Mid-run: kill one, freeze another past its lease.
    assert!(
        wait_for(PATIENCE, || {
            let v = env.stem(&["canvas", "show", &id, "--json"]).json();
            v["nodes"]
                .as_array()
                .map_or(0, |n| n.iter().filter(|n| n["state"] == "success").count())
                >= 100
        }),
        "progress\n{}",
        env.worker_logs()
    );
    a.kill();
    b.signal(Signal::SIGSTOP);
    std::thread::sleep(std::time::Duration::from_secs(3));
    b.signal(Signal::SIGCONT);
    let out = env.stem(&["canvas", "show", &id, "--json"]);
    let _ = out;
    assert!(
        wait_for(PATIENCE, || !env.read("body.txt").is_empty()),
        "the body ran\n{}",
        env.worker_logs()
    );
    let view = env.stem(&["canvas", "show", &id, "--json"]).json();
    assert!(
        wait_for(PATIENCE, || env
            .stem(&["canvas", "show", &id, "--json"])
            .json()["state"]
            == "success"),
        "{view}"
    );
    let expected: i64 = (0..1000).sum();
    let final_view = env.stem(&["canvas", "show", &id, "--json"]).json();
    assert_eq!(final_view["result"], json!(expected));
    // Still exactly one body run, with the results in order, after everything settled.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let runs: Vec<String> = env.read("body.txt").lines().map(str::to_string).collect();
    assert_eq!(
        runs.len(),
        1,
        "the body ran exactly once: {} runs",
        runs.len()
    );
    let got: Vec<i64> = serde_json::from_str(&runs[0]).unwrap();
    assert_eq!(got, (0..1000).collect::<Vec<_>>(), "1,000 results in order");
    drop((b, c));
}

#[test]
fn redis_a_1000_member_chord_survives_a_killed_and_a_frozen_worker() {
    big_chord(Store::Redis);
}

#[test]
fn postgres_a_1000_member_chord_survives_a_killed_and_a_frozen_worker() {
    big_chord(Store::Postgres);
}
