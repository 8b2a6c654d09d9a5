//! No plaintext with encryption on: Python SDK tasks, `exec` tasks, a child writing garbage, a
//! chord and a chain, a schedule — each putting its own marker string in its arguments, keyword
//! arguments, progress, result, error message, traceback, stderr and log lines — run with
//! retries and final failures (so dead letters exist) under a worker logging text and then one
//! logging JSON. Every key of the Redis namespace (every type), every row of the Postgres
//! schema, the SQLite file as SQL and its raw bytes with its WAL, and every log line are
//! scanned, before the worker runs (queued envelopes and their follow-ups) and after: no marker
//! may be found. Readers with the key (`stem result`, `stem events`, `stem dlq show`,
//! `stem canvas show`, `stem schedule show`) still show them.

use base64::Engine;
use serde_json::{json, Value};
use stem_e2e::sealing::{all_logs, found, store_dump};
use stem_e2e::stores::{world, Store};
use stem_e2e::{repo_root, wait_for, Env, Output, PATIENCE};

const TASKS: &str = r#"import sys
from stem_sdk import current, run, task


def zq_tbframe(text):
    raise ValueError(text)


@task("leaky")
def leaky(arg, key=None):
    current.progress({"step": "ZQ_PROGRESS"})
    current.log("ZQ_LOGLINE from the task")
    sys.stderr.write("ZQ_STDERR on stderr\n")
    sys.stderr.flush()
    zq_tbframe("ZQ_ERRMSG " + arg + " " + str(key))


@task("good")
def good(arg, key=None):
    current.progress({"step": "ZQ_PROGRESS"})
    current.log("ZQ_LOGLINE from the task")
    print("ZQ_STDERR printed")
    return {"out": "ZQ_RESULT", "arg": arg, "key": key}


@task("member")
def member(arg):
    return "ZQ_MRESULT-" + arg


@task("collect")
def collect(results, *rest):
    return {"chord": "ZQ_CHORDRESULT", "got": results, "rest": list(rest)}


if __name__ == "__main__":
    run()
"#;

const GARBLER: &str = r#"import json, sys
out = sys.stdout
out.write(json.dumps({"type": "hello", "protocol": 1, "sdk": "raw/1", "tasks": ["garble"]}) + "\n")
out.flush()
for line in sys.stdin:
    if json.loads(line).get("type") == "shutdown":
        break
    out.write("ZQ_GARBAGE is not a protocol line\n")
    out.flush()
"#;

/// Every marker a task put somewhere; none may be found in clear.
const MARKERS: &[&str] = &[
    "ZQ_ARG",
    "ZQ_KWARG",
    "ZQ_PROGRESS",
    "ZQ_RESULT",
    "ZQ_ERRMSG",
    "zq_tbframe",
    "ZQ_STDERR",
    "ZQ_LOGLINE",
    "ZQ_EXECARG",
    "ZQ_EXECERR",
    "ZQ_EXECOUT",
    "ZQ_GARBAGE",
    "ZQ_MARG",
    "ZQ_MRESULT",
    "ZQ_BODYARG",
    "ZQ_CHORDRESULT",
    "ZQ_CHAINARG",
    "ZQ_SCHEDARG",
];

fn manifest() -> String {
    let sdk = repo_root().join("sdk-python");
    let mut m = format!(
        "[runtimes.python]\ncommand = [\"python3\", \"tasks.py\"]\nisolation = \"pool\"\n\
         env = {{ PYTHONPATH = {:?} }}\n\n[runtimes.raw]\ncommand = [\"python3\", \"garbler.py\"]\n",
        sdk.display()
    );
    let retry = "retry = { backoff = \"fixed\", base = \"100ms\", jitter = false }";
    for t in ["leaky", "good", "member", "collect"] {
        m.push_str(&format!(
            "\n[tasks.{t}]\nruntime = \"python\"\nmax_retries = 1\ntime_limit = \"60s\"\n{retry}\n"
        ));
    }
    m.push_str(&format!(
        "\n[tasks.garble]\nruntime = \"raw\"\nmax_retries = 1\ntime_limit = \"60s\"\n{retry}\n\
         \n[tasks.exec_ok]\nexec = [\"sh\", \"-c\", \"cat >/dev/null; echo ZQ_EXECERR >&2; echo ZQ_EXECOUT\"]\n\
         \n[tasks.exec_bad]\nexec = [\"sh\", \"-c\", \"cat >/dev/null; echo ZQ_EXECERR failing >&2; echo ZQ_EXECOUT; exit 3\"]\n\
         max_retries = 1\n{retry}\n"
    ));
    m
}

fn keys() -> Vec<(&'static str, String)> {
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    vec![("STEM_ENCRYPTION_KEYS", format!("e1:{key}"))]
}

fn stem(env: &Env, args: &[&str]) -> Output {
    env.stem_with_env(&keys(), args)
}

fn enqueue(env: &Env, task: &str, args: Value, kwargs: Value) -> String {
    let out = stem(
        env,
        &[
            "enqueue",
            task,
            "--args",
            &args.to_string(),
            "--kwargs",
            &kwargs.to_string(),
            "--json",
        ],
    )
    .success();
    out.json()["id"].as_str().expect("an id").to_string()
}

fn submit(env: &Env, name: &str, doc: Value) -> String {
    env.write(name, &doc.to_string());
    let out = stem(env, &["canvas", "submit", name, "--json"]).success();
    out.json()["id"].as_str().expect("a canvas id").to_string()
}

/// One batch of every kind of task; returns (task ids by kind, canvas ids).
fn batch(env: &Env, n: usize) -> (Vec<(&'static str, String)>, Vec<String>) {
    let tasks = vec![
        (
            "leaky",
            enqueue(
                env,
                "leaky",
                json!([format!("ZQ_ARG-{n}")]),
                json!({"key": "ZQ_KWARG"}),
            ),
        ),
        (
            "good",
            enqueue(
                env,
                "good",
                json!([format!("ZQ_ARG-{n}")]),
                json!({"key": "ZQ_KWARG"}),
            ),
        ),
        (
            "garble",
            enqueue(env, "garble", json!(["ZQ_ARG"]), json!({})),
        ),
        (
            "exec_ok",
            enqueue(env, "exec_ok", json!(["ZQ_EXECARG"]), json!({})),
        ),
        (
            "exec_bad",
            enqueue(env, "exec_bad", json!(["ZQ_EXECARG"]), json!({})),
        ),
    ];
    let header: Vec<Value> = (0..3)
        .map(|i| json!({"task": "member", "args": [format!("ZQ_MARG-{n}-{i}")]}))
        .collect();
    let chord = submit(
        env,
        "chord.json",
        json!({"chord": {"header": header, "body": {"task": "collect", "args": ["ZQ_BODYARG"]}}}),
    );
    let chain = submit(
        env,
        "chain.json",
        json!({"chain": [
            {"task": "member", "args": [format!("ZQ_MARG-{n}")]},
            {"task": "member", "args": ["ZQ_CHAINARG"], "immutable": true}
        ]}),
    );
    (tasks, vec![chord, chain])
}

fn terminal(env: &Env, id: &str) -> Value {
    let mut last = Value::Null;
    let done = wait_for(PATIENCE, || {
        last = stem(env, &["result", id, "--json"]).json();
        matches!(last["state"].as_str(), Some("success" | "failure"))
    });
    assert!(done, "{id} did not finish: {last}\n{}", env.worker_logs());
    last
}

fn canvas_done(env: &Env, id: &str) -> Value {
    let mut last = Value::Null;
    let done = wait_for(PATIENCE, || {
        let out = stem(env, &["canvas", "show", id, "--json"]);
        last = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
        last["state"] == "success"
    });
    assert!(
        done,
        "canvas {id} did not succeed: {last}\n{}",
        env.worker_logs()
    );
    last
}

fn assert_clean(what: &str, text: &str) {
    let leaks = found(text, MARKERS);
    assert!(
        leaks.is_empty(),
        "{what}: {} marker(s) in clear:\n{}",
        leaks.len(),
        leaks
            .iter()
            .map(|(m, around)| format!("- {m}: …{around}…"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn run_batch(env: &Env, n: usize, log_format: &str) -> Vec<(&'static str, String)> {
    let (tasks, canvases) = batch(env, n);
    let before = store_dump(env);
    assert!(before.len() > 500, "the scan read the store: {before}");
    assert_clean("the store with tasks queued", &before);
    let vars = keys();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut worker =
        env.worker_with_env(&["--concurrency", "2", "--log-format", log_format], &vars);
    for (kind, id) in &tasks {
        let rec = terminal(env, id);
        let want = if matches!(*kind, "good" | "exec_ok") {
            "success"
        } else {
            "failure"
        };
        assert_eq!(rec["state"], want, "{kind}: {rec}\n{}", env.worker_logs());
    }
    for id in &canvases {
        canvas_done(env, id);
    }
    stem(env, &["worker", "inspect", "--json"]);
    stem(env, &["worker", "stats", "--json"]);
    worker.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(worker.wait_exit(PATIENCE).is_some(), "the worker stopped");
    tasks
}

fn no_marker_in_clear(store: Store) {
    let Some(env) = world(store, &manifest(), "attacks_sealing") else {
        return;
    };
    env.write("tasks.py", TASKS);
    env.write("garbler.py", GARBLER);
    env.write(
        "schedules.toml",
        "[schedules.nightly]\ntask = \"good\"\ncron = \"0 3 * * *\"\nargs = [\"ZQ_SCHEDARG\"]\n",
    );
    stem(&env, &["schedule", "apply", "schedules.toml"]).success();

    let first = run_batch(&env, 1, "text");
    let second = run_batch(&env, 2, "json");

    assert_clean("the store", &store_dump(&env));
    let logs = all_logs(&env);
    assert!(
        logs.contains(&first[0].1) && logs.contains(&second[0].1),
        "the logs name the tasks: {logs}"
    );
    assert_clean("the worker logs", &logs);

    // Readers with the key still see everything.
    let id = |kind: &str| {
        second
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, id)| id.clone())
            .unwrap()
    };
    let good = stem(&env, &["result", &id("good"), "--json"])
        .success()
        .stdout;
    for m in ["ZQ_RESULT", "ZQ_ARG-2", "ZQ_KWARG", "ZQ_PROGRESS"] {
        assert!(good.contains(m), "stem result shows {m}: {good}");
    }
    let leaky = stem(&env, &["result", &id("leaky"), "--json"])
        .success()
        .stdout;
    for m in ["ZQ_ERRMSG", "zq_tbframe"] {
        assert!(leaky.contains(m), "stem result shows {m}: {leaky}");
    }
    let exec_bad = stem(&env, &["result", &id("exec_bad"), "--json"])
        .success()
        .stdout;
    assert!(
        exec_bad.contains("ZQ_EXECERR"),
        "stem result shows the stderr: {exec_bad}"
    );
    let events = stem(
        &env,
        &["events", "--from-start", "--limit", "1000", "--json"],
    )
    .success()
    .stdout;
    assert!(events.contains("ZQ_PROGRESS"), "stem events: {events}");
    for kind in ["leaky", "exec_bad", "garble"] {
        let letter = stem(
            &env,
            &[
                "dlq",
                "show",
                "--queue",
                "default",
                "--id",
                &id(kind),
                "--json",
            ],
        )
        .success()
        .stdout;
        let want = match kind {
            "leaky" => "zq_tbframe",
            "exec_bad" => "ZQ_EXECERR",
            _ => "ZQ_GARBAGE",
        };
        assert!(
            letter.contains(want),
            "dlq show {kind} shows {want}: {letter}"
        );
        let v: Value = serde_json::from_str(letter.trim()).unwrap();
        let reason = v["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("max_retries") || reason.contains("retryable"),
            "the reason stays readable: {letter}"
        );
    }
    let sched = stem(&env, &["schedule", "show", "nightly", "--json"])
        .success()
        .stdout;
    assert!(sched.contains("ZQ_SCHEDARG"), "schedule show: {sched}");
}

#[test]
fn sqlite_no_marker_in_clear_anywhere() {
    no_marker_in_clear(Store::Sqlite);
}

#[test]
fn redis_no_marker_in_clear_anywhere() {
    no_marker_in_clear(Store::Redis);
}

#[test]
fn postgres_no_marker_in_clear_anywhere() {
    no_marker_in_clear(Store::Postgres);
}
