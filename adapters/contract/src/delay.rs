//! Contract cases for delayed tasks: a task with a future `eta` is not fetched early, is fetched
//! once when due, and goes to exactly one of several consumers.

use crate::util::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;
use stem_adapters::Payload;

/// A task published with a future eta waits for it, then is delivered exactly once.
pub async fn delayed_publish_waits_for_eta(store: Arc<dyn Store>) {
    let delay = Duration::from_millis(400);
    let env = delayed_task("q", "later", delay);
    let published_at = Instant::now();
    store
        .publish(std::slice::from_ref(&env))
        .await
        .expect("publish");
    let c = store.counts("q").await.expect("counts");
    assert_eq!(
        (c.ready, c.delayed),
        (0, 1),
        "a future eta counts as delayed"
    );
    assert!(
        fetch_now(&store, "c1", "q", 10, LONG_LEASE)
            .await
            .is_empty(),
        "a delayed task must not be fetched before its eta"
    );
    let got = fetch_until_some(&store, "c1", "q", 10, LONG_LEASE, "due task").await;
    assert_not_before("delayed task", published_at.elapsed(), delay);
    assert_eq!(got.len(), 1, "one delivery");
    assert_eq!(
        got[0].payload,
        Payload::Task(Box::new(env)),
        "envelope intact"
    );
    assert_eq!(got[0].deliveries, 1, "first delivery");
    assert!(
        store
            .fetch(
                "c2",
                &queues(&["q"]),
                10,
                LONG_LEASE,
                Duration::from_millis(300)
            )
            .await
            .expect("fetch")
            .is_empty(),
        "a due task becomes ready exactly once"
    );
}

/// A waiting fetch wakes when a delayed task falls due during the wait.
pub async fn fetch_wait_wakes_when_due(store: Arc<dyn Store>) {
    let delay = Duration::from_millis(400);
    let env = delayed_task("q", "soon", delay);
    let start = Instant::now();
    store
        .publish(std::slice::from_ref(&env))
        .await
        .expect("publish");
    let got = store
        .fetch("c1", &queues(&["q"]), 1, LONG_LEASE, Duration::from_secs(8))
        .await
        .expect("fetch");
    let elapsed = start.elapsed();
    assert_eq!(ids(&got), [env.id], "the waiting fetch gets the due task");
    assert_not_before("due task", elapsed, delay);
    assert!(
        elapsed < Duration::from_secs(3),
        "a waiting fetch must return soon after the eta, took {elapsed:?}"
    );
}

/// With two consumers fetching concurrently, each due delayed task goes to exactly one.
pub async fn due_tasks_delivered_once_across_consumers(store: Arc<dyn Store>) {
    let batch: Vec<_> = (0..20)
        .map(|i| delayed_task("q", &format!("d{i}"), Duration::from_millis(300)))
        .collect();
    store.publish(&batch).await.expect("publish");
    let delivered = Arc::new(AtomicUsize::new(0));
    let consumers: Vec<_> = ["c1", "c2"]
        .into_iter()
        .map(|name| {
            let store = store.clone();
            let delivered = delivered.clone();
            let want = batch.len();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let deadline = Instant::now() + PATIENCE;
                // Keep fetching a little after everything arrived, to catch a second delivery.
                let mut extra_rounds = 3;
                while Instant::now() < deadline && extra_rounds > 0 {
                    let got = store
                        .fetch(
                            name,
                            &queues(&["q"]),
                            3,
                            LONG_LEASE,
                            Duration::from_millis(50),
                        )
                        .await
                        .expect("fetch");
                    delivered.fetch_add(got.len(), Ordering::SeqCst);
                    seen.extend(ids(&got));
                    if delivered.load(Ordering::SeqCst) >= want {
                        extra_rounds -= 1;
                    }
                }
                seen
            })
        })
        .collect();
    let mut all = Vec::new();
    for consumer in consumers {
        all.extend(consumer.await.expect("consumer"));
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(total, all.len(), "a due task was delivered twice");
    assert_eq!(total, batch.len(), "every due task was delivered");
}
