//! Redis record-and-ack: the outcome record and the ack land in one script; a stale receipt
//! still writes the record but acks nothing.

#![cfg(feature = "redis")]

mod redis_support;

use redis_support::{fresh_namespace, open, redis_url};
use std::time::Duration;
use stem_adapters::ResultBackend;
use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_and_ack_writes_the_record_and_removes_the_delivery() {
    let Some(url) = redis_url("record_and_ack_writes_the_record_and_removes_the_delivery") else {
        return;
    };
    let store = open(&url, &fresh_namespace()).await;
    let env = TaskEnvelope::new("work");
    store.publish(std::slice::from_ref(&env)).await.unwrap();
    let queues = vec!["default".to_string()];
    let got = store
        .fetch("w", &queues, 1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    let mut record = TaskRecord::pending(&env);
    record.state = TaskState::Success;
    record.result = Some(serde_json::json!(42));
    assert!(store
        .record_and_ack(std::slice::from_ref(&record), Duration::from_secs(60), &got)
        .await
        .unwrap());
    let back = ResultBackend::get(store.as_ref(), &env.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.state, TaskState::Success);
    assert_eq!(back.result, Some(serde_json::json!(42)));
    let waited = ResultBackend::wait(store.as_ref(), &env.id, Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(waited.state, TaskState::Success);
    let counts = store.counts("default").await.unwrap();
    assert_eq!(counts.ready + counts.leased, 0, "acked: {counts:?}");
}
