//! Postgres broker behaviour beyond the shared contract, against a real server
//! (`STEM_TEST_POSTGRES_URL`; skipped when unset): exactly-once delivery across two stores,
//! lease takeover, malformed rows, and NOTIFY wake-ups between stores.

mod postgres_support;

use postgres_support::Fixture;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use stem_adapters::Payload;
use stem_protocol::{now_ms, TaskEnvelope, TaskRecord, TaskState};

fn task(queue: &str) -> TaskEnvelope {
    let mut env = TaskEnvelope::new("add");
    env.queue = queue.to_string();
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_deliver_each_task_exactly_once() {
    let Some(fx) = Fixture::new() else { return };
    let (a, b) = (fx.store().await, fx.store().await);
    let tasks: Vec<_> = (0..1000).map(|_| task("q")).collect();
    let expected: HashSet<String> = tasks.iter().map(|t| t.id.clone()).collect();
    for chunk in tasks.chunks(250) {
        a.publish(chunk).await.unwrap();
    }
    let mut workers = Vec::new();
    for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let got = store
                    .fetch(
                        &format!("w{n}"),
                        &["q".to_string()],
                        25,
                        Duration::from_secs(60),
                        Duration::from_millis(200),
                    )
                    .await
                    .unwrap();
                if got.is_empty() {
                    return seen;
                }
                seen.extend(got.iter().map(|d| d.task_id()));
                store.ack(&got).await.unwrap();
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let unique: HashSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), 1000, "some task delivered twice");
    assert_eq!(unique, expected);
    assert_eq!(a.counts("q").await.unwrap().ready, 0);
    fx.cleanup().await;
}

#[tokio::test]
async fn an_expired_lease_is_taken_over() {
    let Some(fx) = Fixture::new() else { return };
    let store = fx.store().await;
    let q = vec!["q".to_string()];
    store.publish(&[task("q")]).await.unwrap();
    let lease = Duration::from_millis(300);
    let first = store
        .fetch("old", &q, 1, lease, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].deliveries, 1);
    // The fetch waits for the lease to expire instead of returning empty.
    let second = store
        .fetch(
            "new",
            &q,
            1,
            Duration::from_secs(60),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].deliveries, 2);
    assert_eq!(second[0].task_id(), first[0].task_id());
    // The stale owner can neither extend nor ack it.
    let lost = store.extend(&first, Duration::from_secs(60)).await.unwrap();
    assert_eq!(lost, vec![first[0].receipt.clone()]);
    store.ack(&first).await.unwrap();
    assert_eq!(store.counts("q").await.unwrap().leased, 1);
    store.ack(&second).await.unwrap();
    assert_eq!(store.counts("q").await.unwrap().leased, 0);
    fx.cleanup().await;
}

#[tokio::test]
async fn a_malformed_row_is_delivered_as_malformed() {
    let Some(fx) = Fixture::new() else { return };
    let store = fx.store().await;
    let ns = &fx.options.namespace;
    fx.sql(&format!(
        "INSERT INTO {ns}.tasks (task_id, queue, eta, visible_at, payload, created_at)
         VALUES ('x', 'q', 0, 0, '{{not json', 0)"
    ))
    .await;
    store.publish(&[task("q")]).await.unwrap();
    let got = store
        .fetch(
            "w",
            &["q".to_string()],
            10,
            Duration::from_secs(60),
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(
        got.len(),
        2,
        "the malformed row must not stall the good one"
    );
    let Payload::Malformed { raw, reason } = &got[0].payload else {
        panic!(
            "expected a malformed payload first, got {:?}",
            got[0].payload
        );
    };
    assert_eq!(raw, "{not json");
    assert!(reason.contains("malformed"), "{reason}");
    assert!(got[1].task().is_some());
    fx.cleanup().await;
}

#[tokio::test]
async fn an_idle_fetch_wakes_on_a_publish_from_another_store() {
    let Some(fx) = Fixture::new() else { return };
    let (waiter, producer) = (fx.store().await, fx.store().await);
    let started = Instant::now();
    let fetch = tokio::spawn(async move {
        waiter
            .fetch(
                "w",
                &["q".to_string()],
                1,
                Duration::from_secs(60),
                Duration::from_secs(20),
            )
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    producer.publish(&[task("q")]).await.unwrap();
    let got = fetch.await.unwrap();
    assert_eq!(got.len(), 1);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "woke after {elapsed:?}");
    fx.cleanup().await;
}

#[tokio::test]
async fn a_result_wait_wakes_on_a_terminal_write_from_another_store() {
    let Some(fx) = Fixture::new() else { return };
    let (waiter, writer) = (fx.store().await, fx.store().await);
    let env = task("q");
    let mut record = TaskRecord::pending(&env);
    writer
        .set(&[record.clone()], Duration::from_secs(60))
        .await
        .unwrap();
    let id = env.id.clone();
    let started = Instant::now();
    let wait = tokio::spawn(async move { waiter.wait(&id, Duration::from_secs(20)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    record.state = TaskState::Success;
    record.result = Some(serde_json::json!(3));
    record.updated_at = now_ms();
    writer
        .set(&[record], Duration::from_secs(60))
        .await
        .unwrap();
    let got = wait.await.unwrap().unwrap().unwrap();
    assert_eq!(got.state, TaskState::Success);
    assert!(started.elapsed() < Duration::from_secs(2));
    fx.cleanup().await;
}
