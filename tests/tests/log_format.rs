//! Issue 14: `--log-format json` (`STEM_LOG_FORMAT=json`): every line the worker writes is one
//! JSON object; a task's lines carry its id, name, attempt and trace id (the producer's), and
//! each outcome is an INFO line with its durations.

use serde_json::Value;
use stem_e2e::{Env, PATIENCE};

const PRODUCER: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn enqueue_traced(env: &Env, task: &str) -> String {
    let out = env
        .command(env.path())
        .args(["enqueue", task, "--json"])
        .env("TRACEPARENT", PRODUCER)
        .output()
        .expect("stem enqueue");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    v["id"].as_str().expect("an id").to_string()
}

#[test]
fn json_logs_carry_the_task_and_its_trace_and_one_info_line_per_outcome() {
    let env = Env::with_manifest(
        "[tasks.ok]\nexec = [\"true\"]\n\n[tasks.bad]\nexec = [\"false\"]\nmax_retries = 0\n",
    );
    let ok = enqueue_traced(&env, "ok");
    let bad = enqueue_traced(&env, "bad");
    let mut worker = env.worker(&["--burst", "--log-format", "json"]);
    let status = worker.wait_exit(PATIENCE).expect("the burst worker ends");
    assert!(status.success(), "{}", worker.log());
    let log = worker.log();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["timestamp"].is_string()));
    for (id, name, outcome) in [(&ok, "ok", "success"), (&bad, "bad", "failure")] {
        let mine: Vec<&Value> = lines.iter().filter(|l| l["task"] == id.as_str()).collect();
        assert!(!mine.is_empty(), "no line for {name}:\n{log}");
        for l in &mine {
            assert_eq!(l["name"], name, "{l}");
            assert_eq!(l["attempt"], 1, "{l}");
            assert_eq!(l["trace_id"], "0af7651916cd43dd8448eb211c80319c", "{l}");
        }
        let outcomes: Vec<&&Value> = mine.iter().filter(|l| l["outcome"] == outcome).collect();
        assert_eq!(outcomes.len(), 1, "one outcome line for {name}:\n{log}");
        assert_eq!(outcomes[0]["level"], "INFO");
        assert!(outcomes[0]["duration_ms"].is_u64(), "{}", outcomes[0]);
        assert!(outcomes[0]["run_ms"].is_u64(), "{}", outcomes[0]);
    }
}

#[test]
fn an_unknown_log_format_is_a_usage_error_naming_it() {
    let env = Env::with_manifest("[tasks.ok]\nexec = [\"true\"]\n");
    let out = env.stem(&["--log-format", "yaml", "observe", "queues"]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("yaml"), "{}", out.stderr);
}

#[test]
fn an_unknown_exporter_is_a_usage_error_naming_the_variable() {
    let env = Env::with_manifest("[tasks.ok]\nexec = [\"true\"]\n");
    let mut worker = env.worker_with_env(&["--burst"], &[("OTEL_METRICS_EXPORTER", "otlp,jaeger")]);
    let status = worker.wait_exit(PATIENCE).expect("the worker exits");
    assert_eq!(status.code(), Some(2), "{}", worker.log());
    assert!(
        worker.log().contains(
            "OTEL_METRICS_EXPORTER: unknown exporter \"jaeger\" (known: otlp, prometheus, console, none)"
        ),
        "{}",
        worker.log()
    );
}
