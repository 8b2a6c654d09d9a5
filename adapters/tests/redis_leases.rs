//! Redis lease behaviour beyond the contract: a dead consumer's task is reclaimed, a live task
//! whose lease is extended is never stolen, and a restarted consumer re-reads its own pending
//! entries at once.

#![cfg(feature = "redis")]

mod redis_support;

use redis_support::{fresh_namespace, open, redis_url};
use std::time::{Duration, Instant};
use stem_protocol::TaskEnvelope;

const LEASE: Duration = Duration::from_millis(600);

fn queues() -> Vec<String> {
    vec!["default".to_string()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_consumer_task_is_reclaimed_with_delivery_count() {
    let Some(url) = redis_url("dead_consumer_task_is_reclaimed_with_delivery_count") else {
        return;
    };
    let ns = fresh_namespace();
    let (a, b) = (open(&url, &ns).await, open(&url, &ns).await);
    let env = TaskEnvelope::new("work");
    a.publish(std::slice::from_ref(&env)).await.unwrap();
    let first = a
        .fetch("worker-a", &queues(), 10, LEASE, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    drop(a); // worker A dies without acking
    let start = Instant::now();
    let got = b
        .fetch("worker-b", &queues(), 10, LEASE, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "B takes the task over");
    assert_eq!(got[0].task_id(), env.id);
    assert_eq!(got[0].deliveries, 2);
    assert!(
        start.elapsed() < LEASE + Duration::from_millis(500),
        "taken over soon after the lease ran out, not after the whole wait: {:?}",
        start.elapsed()
    );
    b.ack(&got).await.unwrap();
    assert_eq!(b.counts("default").await.unwrap().leased, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_lease_is_never_stolen() {
    let Some(url) = redis_url("extended_lease_is_never_stolen") else {
        return;
    };
    let ns = fresh_namespace();
    let (a, b) = (open(&url, &ns).await, open(&url, &ns).await);
    a.publish(&[TaskEnvelope::new("long")]).await.unwrap();
    let mine = a
        .fetch("worker-a", &queues(), 1, LEASE, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    let extender = {
        let a = a.clone();
        let mine = mine.clone();
        tokio::spawn(async move {
            let until = Instant::now() + LEASE * 3;
            while Instant::now() < until {
                let lost = a.extend(&mine, LEASE).await.unwrap();
                assert!(lost.is_empty(), "a live lease extends");
                tokio::time::sleep(LEASE / 3).await;
            }
        })
    };
    // B waits the whole time with the same lease; it must never see the task.
    let until = Instant::now() + LEASE * 3;
    while Instant::now() < until {
        let stolen = b
            .fetch("worker-b", &queues(), 1, LEASE, Duration::from_millis(300))
            .await
            .unwrap();
        assert!(stolen.is_empty(), "a live task was delivered to B");
    }
    extender.await.unwrap();
    a.ack(&mine).await.unwrap();
    let counts = a.counts("default").await.unwrap();
    assert_eq!((counts.ready, counts.leased), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_consumer_rereads_its_pending_entries() {
    let Some(url) = redis_url("restarted_consumer_rereads_its_pending_entries") else {
        return;
    };
    let ns = fresh_namespace();
    let before = open(&url, &ns).await;
    before
        .publish(&[TaskEnvelope::new("a"), TaskEnvelope::new("b")])
        .await
        .unwrap();
    let first = before
        .fetch(
            "host-1",
            &queues(),
            10,
            Duration::from_secs(60),
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    drop(before);
    // The same consumer comes back (a restarted worker): its entries return at once, long before
    // their lease would run out.
    let after = open(&url, &ns).await;
    let again = after
        .fetch(
            "host-1",
            &queues(),
            10,
            Duration::from_secs(60),
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(again.len(), 2, "own pending entries re-read at start");
    assert!(again.iter().all(|d| d.deliveries == 2));
    // Only at start: a later fetch by the same consumer does not see them again.
    let later = after
        .fetch(
            "host-1",
            &queues(),
            10,
            Duration::from_secs(60),
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert!(later.is_empty());
    // The receipts from before the restart are stale now.
    before_receipts_are_stale(&after, &first).await;
    after.ack(&again).await.unwrap();
}

async fn before_receipts_are_stale(
    store: &std::sync::Arc<dyn stem_adapters::connect::Store>,
    old: &[stem_adapters::Delivery],
) {
    let lost = store.extend(old, Duration::from_secs(60)).await.unwrap();
    assert_eq!(lost.len(), old.len());
}
