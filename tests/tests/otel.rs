//! Issue 14: a worker draining a thousand Python tasks exports over OTLP/HTTP (JSON) to a real
//! receiver on loopback: the outcome counter and the run, queue-wait and commit histograms add
//! up to the tasks drained, there is one trace per task, and each task's span from the Python
//! SDK has the worker's span of that attempt as its parent. The Prometheus endpoint of the
//! worker (`--metrics-listen`) and of `stem serve` (`/metrics`) parse as the text format, and
//! serve's totals match `stem observe metrics`.

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use stem_e2e::http::Server;
use stem_e2e::otlp::{attrs, Receiver};
use stem_e2e::{promtext, repo_root, wait_for_value, Env, PATIENCE};

const TASKS: usize = 1000;

fn python_env() -> Env {
    Env::with_manifest(
        "[runtimes.python]\ncommand = [\"python3\", \"tasks.py\"]\nisolation = \"pool\"\n\n\
         [tasks.add]\nruntime = \"python\"\n",
    )
}

fn write_tasks(env: &Env) {
    env.write(
        "tasks.py",
        "from stem_sdk import run, task\n\n@task\ndef add(a, b):\n    return a + b\n\nrun()\n",
    );
}

#[test]
fn a_worker_draining_a_thousand_tasks_exports_totals_and_linked_spans() {
    let env = python_env();
    write_tasks(&env);
    let receiver = Receiver::start(env.file("received"));
    env.stem(&[
        "enqueue",
        "add",
        "--args",
        "[1, 2]",
        "--repeat",
        &TASKS.to_string(),
    ])
    .success();
    let sdk = repo_root().join("sdk-python");
    let mut worker = env.worker_with_env(
        &["--burst", "--concurrency", "2"],
        &[
            ("PYTHONPATH", sdk.to_str().unwrap()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ],
    );
    let status = worker
        .wait_exit(PATIENCE * 3)
        .unwrap_or_else(|| panic!("the burst worker did not finish\n{}", worker.log()));
    assert!(status.success(), "{}", worker.log());

    // Metrics: the last cumulative values the receiver got (the worker flushes at exit).
    let latest = receiver.latest();
    let total = |name: &str, want: &[(&str, &str)]| -> u64 {
        latest
            .iter()
            .filter(|(n, a, _)| n == name && want.iter().all(|(k, v)| a[*k] == *v))
            .map(|(_, _, v)| v)
            .sum()
    };
    let ok = [
        ("task", "add"),
        ("queue", "default"),
        ("outcome", "success"),
    ];
    assert_eq!(total("stem.tasks", &ok), TASKS as u64, "{latest:?}");
    assert_eq!(total("stem.task.run.duration", &ok), TASKS as u64);
    let of_add = [("task", "add"), ("queue", "default")];
    assert_eq!(total("stem.task.queue.wait", &of_add), TASKS as u64);
    assert_eq!(total("stem.task.commit.duration", &of_add), TASKS as u64);
    assert!(
        latest.iter().any(|(n, _, _)| n == "stem.queue.depth"),
        "the queue depth gauge is exported: {latest:?}"
    );
    assert!(
        latest
            .iter()
            .all(|(_, a, _)| a.get("stem.task.id").is_none()),
        "no task id in labels"
    );

    // Traces: one worker span per task, each its own trace, each the parent of the SDK's span.
    let spans = receiver.spans();
    let worker_spans: HashMap<String, &Value> = spans
        .iter()
        .filter(|(service, _)| service == "stem-worker")
        .map(|(_, s)| (s["spanId"].as_str().unwrap().to_string(), s))
        .collect();
    assert_eq!(worker_spans.len(), TASKS, "one worker span per task");
    let traces: HashSet<&str> = worker_spans
        .values()
        .map(|s| s["traceId"].as_str().unwrap())
        .collect();
    assert_eq!(traces.len(), TASKS, "one trace per task");
    let task_ids: HashSet<String> = worker_spans
        .values()
        .map(|s| attrs(&s["attributes"])["stem.task.id"].to_string())
        .collect();
    assert_eq!(task_ids.len(), TASKS);
    let children: Vec<&Value> = spans
        .iter()
        .filter(|(service, _)| service == "stem-python")
        .map(|(_, s)| s)
        .collect();
    assert_eq!(children.len(), TASKS, "one SDK span per task");
    for child in children {
        let parent = worker_spans
            .get(child["parentSpanId"].as_str().unwrap())
            .unwrap_or_else(|| panic!("the SDK span's parent is no worker span: {child}"));
        assert_eq!(parent["traceId"], child["traceId"]);
        assert_eq!(
            attrs(&parent["attributes"])["stem.task.id"],
            attrs(&child["attributes"])["stem.task.id"]
        );
    }
}

/// `curl URL` as text.
fn curl(url: &str) -> String {
    let out = std::process::Command::new("curl")
        .args(["-sSf", "--max-time", "30", url])
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn the_worker_and_serve_metrics_parse_as_prometheus_text_and_match_observe() {
    let env = Env::with_manifest(
        "[tasks.ok]\nexec = [\"true\"]\n\n[tasks.bad]\nexec = [\"false\"]\nmax_retries = 0\n",
    );
    let mut worker = env.worker(&["--metrics-listen", "127.0.0.1:0", "--heartbeat", "200ms"]);
    let ids: Vec<String> = (0..20).map(|_| env.enqueue("ok", &[])).collect();
    let bad = env.enqueue("bad", &[]);
    for id in ids.iter().chain([&bad]) {
        env.outcome(id);
    }
    let addr = wait_for_value(PATIENCE, || {
        worker
            .log()
            .lines()
            .find_map(|l| Some(l.split("metrics at ").nth(1)?.trim().to_string()))
    })
    .expect("the worker logs its metrics address");
    worker.assert_alive();

    // The worker's own endpoint: outcomes by task, queue and outcome; histograms; gauges.
    let samples = wait_for_value(PATIENCE, || {
        let s = promtext::parse(&curl(&addr)).expect("the worker's /metrics is the text format");
        let done = promtext::total(
            &s,
            "stem_tasks_total",
            &[("task", "ok"), ("outcome", "success")],
        );
        (done == 20.0).then_some(s)
    })
    .expect("20 successes counted");
    let failed = [
        ("task", "bad"),
        ("queue", "default"),
        ("outcome", "failure"),
    ];
    assert_eq!(promtext::total(&samples, "stem_tasks_total", &failed), 1.0);
    let ok = [("task", "ok"), ("queue", "default"), ("outcome", "success")];
    assert_eq!(
        promtext::total(&samples, "stem_task_run_duration_seconds_count", &ok),
        20.0
    );
    assert_eq!(
        promtext::total(
            &samples,
            "stem_task_run_duration_seconds_bucket",
            &[("task", "ok"), ("le", "+Inf")]
        ),
        20.0
    );
    assert_eq!(
        promtext::total(&samples, "stem_dead_letters_total", &[("task", "bad")]),
        1.0
    );
    assert!(samples
        .iter()
        .any(|s| s.name == "stem_queue_depth" && s.labels["state"] == "ready"));
    assert!(samples
        .iter()
        .any(|s| s.name == "stem_worker_memory_rss_bytes" && s.value > 0.0));
    assert!(samples.iter().any(|s| s.name == "stem_tasks_running"));

    // `stem serve` /metrics: the fleet's totals are those of `stem observe metrics`.
    let server = Server::start(&env, &[], &[]);
    let observed = wait_for_value(PATIENCE, || {
        let m = env.stem(&["observe", "metrics", "--json"]).success().json();
        (m["processed"] == 21).then_some(m)
    })
    .expect("the heartbeat shows 21 processed");
    let text = curl(&format!("{}/metrics", server.url));
    let fleet = promtext::parse(&text).expect("serve's /metrics is the text format");
    for (key, value) in observed.as_object().unwrap() {
        let name = if key == "workers" {
            "stem_workers_alive".to_string()
        } else {
            format!("stem_fleet_{key}")
        };
        assert_eq!(
            Some(value.as_f64().unwrap()),
            fleet.iter().find(|s| s.name == name).map(|s| s.value),
            "{name} in\n{text}"
        );
    }
    let dead = promtext::total(
        &fleet,
        "stem_queue_depth",
        &[("queue", "default"), ("state", "dead")],
    );
    assert_eq!(dead, 1.0, "{text}");
}

#[test]
fn a_node_tasks_span_joins_the_producers_trace_under_the_workers_span() {
    let sdk = repo_root().join("sdk-node");
    let env = Env::with_manifest(
        "[runtimes.node]\ncommand = [\"node\", \"tasks.js\"]\nsoft_signal = \"SIGUSR2\"\n\
         isolation = \"pool\"\n\n[tasks.add]\nruntime = \"node\"\n",
    );
    env.write(
        "tasks.js",
        &format!(
            "const {{ task, run }} = require({:?});\ntask('add', (ctx, a, b) => a + b);\nrun();\n",
            sdk.display().to_string()
        ),
    );
    let receiver = Receiver::start(env.file("received"));
    // A producer inside a trace (TRACEPARENT set): the task joins it.
    let producer = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let out = env
        .command(env.path())
        .args(["enqueue", "add", "--args", "[2, 3]", "--json"])
        .env("TRACEPARENT", producer)
        .output()
        .expect("stem enqueue");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id: Value = serde_json::from_slice(&out.stdout).expect("json");
    env.stem(&["enqueue", "add", "--args", "[1, 1]", "--repeat", "20"])
        .success();
    let mut worker = env.worker_with_env(
        &["--burst"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ],
    );
    let status = worker.wait_exit(PATIENCE).expect("the burst worker ends");
    assert!(status.success(), "{}", worker.log());
    let spans = receiver.spans();
    let of = |service: &str| -> Vec<&Value> {
        spans
            .iter()
            .filter(|(s, _)| s == service)
            .map(|(_, s)| s)
            .collect()
    };
    let workers = of("stem-worker");
    let children = of("stem-node");
    assert_eq!((workers.len(), children.len()), (21, 21), "{spans:?}");
    for child in &children {
        let parent = workers
            .iter()
            .find(|w| w["spanId"] == child["parentSpanId"])
            .unwrap_or_else(|| panic!("no worker span is the parent of {child}"));
        assert_eq!(parent["traceId"], child["traceId"]);
    }
    let joined = workers
        .iter()
        .find(|w| attrs(&w["attributes"])["stem.task.id"] == id["id"])
        .expect("the traced task's worker span");
    assert_eq!(joined["traceId"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(
        joined["parentSpanId"], "b7ad6b7169203331",
        "the producer's span is its parent"
    );
    assert_eq!(attrs(&joined["attributes"])["stem.outcome"], "success");
}
