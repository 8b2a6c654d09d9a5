//! Contract cases for the result backend: set, get, overwrite, waiting for a terminal state,
//! and expiry after the TTL.

use crate::util::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;
use stem_protocol::{now_ms, TaskEnvelope, TaskRecord, TaskState};

const KEEP: Duration = Duration::from_secs(3600);

fn record(state: TaskState) -> TaskRecord {
    let mut record = TaskRecord::pending(&TaskEnvelope::new("add"));
    record.state = state;
    record
}

fn finished(mut record: TaskRecord, value: serde_json::Value) -> TaskRecord {
    record.state = TaskState::Success;
    record.result = Some(value);
    record.finished_at = Some(now_ms());
    record.updated_at = now_ms();
    record
}

/// Records round-trip, a later set replaces the whole record, unknown ids are `None`.
pub async fn result_set_get_overwrite(store: Arc<dyn Store>) {
    let a = record(TaskState::Pending);
    let mut b = record(TaskState::Started);
    b.worker = Some("w1".into());
    b.progress = Some(serde_json::json!({"done": 3}));
    store.set(&[a.clone(), b.clone()], KEEP).await.expect("set");
    assert_eq!(
        store.get(&a.id).await.expect("get"),
        Some(a.clone()),
        "a round-trips"
    );
    assert_eq!(
        store.get(&b.id).await.expect("get"),
        Some(b.clone()),
        "b round-trips"
    );
    let done = finished(a.clone(), serde_json::json!([1, 2]));
    store
        .set(std::slice::from_ref(&done), KEEP)
        .await
        .expect("set");
    assert_eq!(
        store.get(&a.id).await.expect("get"),
        Some(done),
        "a later set replaces the record"
    );
    assert_eq!(
        store.get("no-such-task").await.expect("get"),
        None,
        "unknown id"
    );
    stem_adapters::ResultBackend::ping(store.as_ref())
        .await
        .expect("result backend ping");
}

/// `wait` returns as soon as another task writes a terminal record.
pub async fn result_wait_wakes_on_terminal(store: Arc<dyn Store>) {
    let started = record(TaskState::Started);
    store
        .set(std::slice::from_ref(&started), KEEP)
        .await
        .expect("set");
    let waiter = {
        let store = store.clone();
        let id = started.id.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let got = store.wait(&id, Duration::from_secs(8)).await.expect("wait");
            (got, start.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut retry = started.clone();
    retry.state = TaskState::Retry;
    store
        .set(std::slice::from_ref(&retry), KEEP)
        .await
        .expect("set");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let done = finished(started, serde_json::json!(42));
    store
        .set(std::slice::from_ref(&done), KEEP)
        .await
        .expect("set");
    let (got, elapsed) = waiter.await.expect("waiter");
    assert_eq!(got, Some(done), "wait returns the terminal record");
    assert!(
        elapsed < Duration::from_secs(3),
        "wait must wake on the terminal write, took {elapsed:?}"
    );
}

/// At the timeout `wait` returns the latest (non-terminal) record, or `None` for no record;
/// an already terminal record returns at once.
pub async fn result_wait_timeout(store: Arc<dyn Store>) {
    let started = record(TaskState::Started);
    store
        .set(std::slice::from_ref(&started), KEEP)
        .await
        .expect("set");
    let start = Instant::now();
    let got = store
        .wait(&started.id, Duration::from_millis(300))
        .await
        .expect("wait");
    assert_not_before("wait timeout", start.elapsed(), Duration::from_millis(300));
    assert_eq!(got, Some(started), "the non-terminal record at the timeout");

    let start = Instant::now();
    let none = store
        .wait("no-such-task", Duration::from_millis(200))
        .await
        .expect("wait");
    assert_eq!(none, None, "no record at the timeout");
    assert_not_before(
        "wait for nothing",
        start.elapsed(),
        Duration::from_millis(200),
    );

    let done = finished(record(TaskState::Started), serde_json::json!("ok"));
    store
        .set(std::slice::from_ref(&done), KEEP)
        .await
        .expect("set");
    let start = Instant::now();
    let got = store
        .wait(&done.id, Duration::from_secs(8))
        .await
        .expect("wait");
    assert_eq!(got, Some(done), "terminal record");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "waiting on a terminal record must return at once"
    );
}

/// A record is gone after its TTL.
pub async fn result_ttl_expires(store: Arc<dyn Store>) {
    let short = record(TaskState::Success);
    let long = record(TaskState::Success);
    store
        .set(std::slice::from_ref(&short), Duration::from_millis(300))
        .await
        .expect("set");
    store
        .set(std::slice::from_ref(&long), KEEP)
        .await
        .expect("set");
    assert!(
        store.get(&short.id).await.expect("get").is_some(),
        "present before TTL"
    );
    let store2 = store.clone();
    let id = short.id.clone();
    eventually("record past its TTL", || {
        let store = store2.clone();
        let id = id.clone();
        async move { store.get(&id).await.expect("get").is_none().then_some(()) }
    })
    .await;
    assert!(
        store.get(&long.id).await.expect("get").is_some(),
        "long TTL kept"
    );
}
