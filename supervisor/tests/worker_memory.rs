//! The worker runtime in-process on the memory backend: tasks run in real children and their
//! outcomes are recorded (success, failure with stderr, hard limit, unknown task, retries).

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use stem::manifest::LoadedManifest;
use stem::worker::{self, WorkerConfig};
use stem_adapters::{connect, Adapters, ConnectOptions};
use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};

const MANIFEST: &str = r#"
[tasks.echo]
exec = ["sh", "-c", "echo \"$STEM_ARGS\""]

[tasks.text]
exec = ["sh", "-c", "echo hello $STEM_TASK_NAME"]

[tasks.broken]
exec = ["sh", "-c", "echo oops >&2; exit 4"]

[tasks.slow]
exec = ["sh", "-c", "sleep 30"]
time_limit = "500ms"

[tasks.flaky]
exec = ["sh", "-c", "test \"$STEM_ATTEMPT\" -ge 3 || { echo \"attempt $STEM_ATTEMPT\" >&2; exit 1; }; echo ok"]
max_retries = 3
retry = { backoff = "fixed", base = "50ms", jitter = false }
"#;

async fn start(ns: &str) -> (Adapters, tokio::task::JoinHandle<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stem.toml");
    std::fs::write(&path, MANIFEST).unwrap();
    let manifest = Arc::new(LoadedManifest::load(&path).unwrap());
    let url = format!("memory://{ns}");
    let adapters = connect(&url, &url, None, &ConnectOptions::default())
        .await
        .unwrap();
    let config = WorkerConfig {
        manifest,
        adapters: adapters.clone(),
        worker_id: format!("w-{ns}"),
        queues: vec!["default".into()],
        concurrency: 4,
        prefetch: stem::worker::window::Prefetch::new(Some(4), 4),
        lease: Duration::from_secs(5),
        result_ttl: Duration::from_secs(60),
        max_deliveries: 5,
        terminate_grace: Duration::from_millis(500),
        heartbeat_interval: Duration::from_millis(200),
        burst: false,
        shared_store: true,
        telemetry: Default::default(),
    };
    let handle = tokio::spawn(async move {
        worker::run(config).await.unwrap();
    });
    (adapters, handle, dir)
}

async fn enqueue(adapters: &Adapters, name: &str, args: serde_json::Value) -> String {
    let mut env = TaskEnvelope::new(name);
    env.args = args.as_array().unwrap().clone();
    adapters.broker.publish(&[env.clone()]).await.unwrap();
    env.id
}

async fn outcome(adapters: &Adapters, id: &str) -> TaskRecord {
    let rec = adapters
        .backend
        .wait(id, Duration::from_secs(20))
        .await
        .unwrap()
        .expect("a record");
    assert!(rec.state.is_terminal(), "not finished: {rec:?}");
    rec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_run_and_outcomes_are_recorded() {
    let (ad, _w, _dir) = start("outcomes").await;
    let echo = enqueue(&ad, "echo", json!([1, "two"])).await;
    let text = enqueue(&ad, "text", json!([])).await;
    let broken = enqueue(&ad, "broken", json!([])).await;
    let slow = enqueue(&ad, "slow", json!([])).await;
    let unknown = enqueue(&ad, "nope", json!([])).await;
    let flaky = enqueue(&ad, "flaky", json!([])).await;

    let r = outcome(&ad, &echo).await;
    assert_eq!(r.state, TaskState::Success);
    assert_eq!(r.result, Some(json!([1, "two"])));

    let r = outcome(&ad, &text).await;
    assert_eq!(r.result, Some(json!("hello text")));

    let r = outcome(&ad, &broken).await;
    assert_eq!(r.state, TaskState::Failure);
    let err = r.error.unwrap();
    assert_eq!(err.kind, "ExitStatus");
    assert!(
        err.message.contains("exited with status 4") && err.message.contains("oops"),
        "{err:?}"
    );

    let r = outcome(&ad, &slow).await;
    assert_eq!(r.state, TaskState::Failure);
    assert_eq!(r.error.unwrap().kind, "TimeLimitExceeded");

    let r = outcome(&ad, &unknown).await;
    assert_eq!(r.state, TaskState::Failure);
    assert_eq!(r.error.unwrap().kind, "UnknownTask");

    let r = outcome(&ad, &flaky).await;
    assert_eq!(r.state, TaskState::Success, "{r:?}");
    assert_eq!(r.attempt, 3);
    assert_eq!(
        r.errors.len(),
        2,
        "every failed attempt's error is kept: {r:?}"
    );

    let dead = ad.admin.dead_letters("default", 10).await.unwrap();
    let ids: Vec<&str> = dead.iter().map(|d| d.id.as_str()).collect();
    assert!(
        ids.contains(&broken.as_str()) && ids.contains(&unknown.as_str()),
        "{ids:?}"
    );
}
