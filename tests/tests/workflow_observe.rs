//! Workflows in the telemetry (issue 23): a run's lifecycle in the events stream (`wf_run`,
//! `wf_step`), a span per journaled step whose parent is its resume's attempt span (one trace
//! for the run), run transitions counted by workflow and state, step durations by kind, and the
//! runs-by-state gauge.

use nix::sys::signal::Signal;
use serde_json::Value;
use stem_e2e::otlp::{attrs, Receiver};
use stem_e2e::stores::Store;
use stem_e2e::workflows::{emit_when_waiting, setup, start, wait_state};
use stem_e2e::{wait_for_value, PATIENCE};

#[test]
fn a_run_is_traced_counted_and_in_the_events() {
    let Some(env) = setup(Store::Sqlite, "a_run_is_traced_counted_and_in_the_events") else {
        return;
    };
    let receiver = Receiver::start(env.file("received"));
    let mut worker = env.worker_with_env(
        &[
            "--concurrency",
            "2",
            "--queues",
            "flows,math",
            "--heartbeat",
            "200ms",
        ],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "500"),
        ],
    );
    let run = start(&env, "order", r#"["t1"]"#);
    emit_when_waiting(&env, &run, "shipment.t1", r#"{"tracking":"X"}"#);
    wait_state(&env, &run, "completed");

    // The events stream (flushed in batches): the run's moves and its steps, names only.
    let read = || -> Vec<Value> {
        let out = env
            .stem(&["events", "--from-start", "--limit", "1000", "--json"])
            .success();
        out.stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    let events = wait_for_value(PATIENCE, || {
        let all = read();
        all.iter()
            .any(|e| {
                e["kind"] == "wf_run"
                    && e["data"]["run"] == run.as_str()
                    && e["data"]["state"] == "completed"
            })
            .then_some(all)
    })
    .unwrap_or_else(read);
    let of_run = |kind: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["kind"] == kind && e["data"]["run"] == run.as_str())
            .collect()
    };
    let moves: Vec<&str> = of_run("wf_run")
        .iter()
        .filter_map(|e| e["data"]["state"].as_str())
        .collect();
    assert!(
        moves.contains(&"suspended") && moves.last() == Some(&"completed"),
        "{moves:?}"
    );
    let steps: Vec<&str> = of_run("wf_step")
        .iter()
        .filter(|e| e["data"]["state"] == "done")
        .filter_map(|e| e["data"]["step"].as_str())
        .collect();
    for s in ["charge", "add", "cool_off", "done"] {
        assert!(steps.contains(&s), "step {s} done in the events: {steps:?}");
    }
    let emitted = of_run("wf_step")
        .iter()
        .any(|e| e["data"]["index"] == 3 && e["data"]["topic"] == "shipment.t1");
    assert!(
        emitted,
        "the emit's step in the events: {:?}",
        of_run("wf_step")
    );

    // Flush the exporters: a warm shutdown.
    worker.signal(Signal::SIGTERM);
    worker.wait_exit(PATIENCE).expect("the worker stops");
    let spans = receiver.spans();
    let worker_spans: Vec<&Value> = spans
        .iter()
        .filter(|(s, _)| s == "stem-worker")
        .map(|(_, s)| s)
        .collect();
    let step_spans: Vec<&Value> = worker_spans
        .iter()
        .copied()
        .filter(|s| attrs(&s["attributes"])["stem.workflow.run"] == run.as_str())
        .collect();
    let names: Vec<&str> = step_spans
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    for s in ["step charge", "step add", "step cool_off", "step done"] {
        assert!(names.contains(&s), "a span for {s}: {names:?}");
    }
    let traces: std::collections::HashSet<&str> = step_spans
        .iter()
        .filter_map(|s| s["traceId"].as_str())
        .collect();
    assert_eq!(traces.len(), 1, "one trace for the run's steps");
    for s in &step_spans {
        let parent = s["parentSpanId"].as_str().unwrap_or_default();
        let resume = worker_spans.iter().find(|w| w["spanId"] == parent);
        let resume =
            resume.unwrap_or_else(|| panic!("a step span's parent is no worker span: {s}"));
        assert!(
            resume["name"]
                .as_str()
                .unwrap_or_default()
                .starts_with("run wf:order"),
            "{resume}"
        );
    }

    let latest = receiver.latest();
    let total = |name: &str, want: &[(&str, &str)]| -> u64 {
        latest
            .iter()
            .filter(|(n, a, _)| n == name && want.iter().all(|(k, v)| a[*k] == *v))
            .map(|(_, _, v)| v)
            .sum()
    };
    assert_eq!(
        total(
            "stem.workflow.runs",
            &[("workflow", "order"), ("state", "completed")]
        ),
        1,
        "{latest:?}"
    );
    assert!(
        total(
            "stem.workflow.runs",
            &[("workflow", "order"), ("state", "suspended")]
        ) >= 2
    );
    assert_eq!(
        total(
            "stem.workflow.step.duration",
            &[("workflow", "order"), ("kind", "step"), ("state", "done")]
        ),
        2
    );
    assert!(
        total("stem.workflow.runs.current", &[("state", "completed")]) >= 1,
        "{latest:?}"
    );
    assert!(
        latest.iter().all(|(_, a, _)| a.get("run").is_none()),
        "no run id in labels"
    );
}
