//! Contract cases for flow control: unique locks (one holder, released or expired, racing
//! claimers), persisted pauses, token buckets (burst, refill, the wait they name) and slots
//! (at most `max` live holders, freed by release or lease end).

use crate::util::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;

/// One holder per key until it releases (only its own lock) or the lock expires.
pub async fn unique_lock_one_holder(store: Arc<dyn Store>) {
    let ttl = Duration::from_secs(60);
    assert_eq!(
        store.claim_unique("k", "a", ttl).await.unwrap(),
        None,
        "first claim takes it"
    );
    assert_eq!(
        store.claim_unique("k", "a", ttl).await.unwrap(),
        None,
        "its holder renews"
    );
    assert_eq!(
        store.claim_unique("k", "b", ttl).await.unwrap(),
        Some("a".to_string()),
        "another claimer is told who holds it"
    );
    assert!(
        !store.release_unique("k", "b").await.unwrap(),
        "only the holder releases"
    );
    assert!(store.release_unique("k", "a").await.unwrap());
    assert_eq!(
        store.claim_unique("k", "b", SHORT_LEASE).await.unwrap(),
        None,
        "free again"
    );
    eventually("an expired lock is taken over", || async {
        store
            .claim_unique("k", "c", ttl)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}

/// Claimers racing for one key: exactly one wins.
pub async fn unique_lock_race_one_winner(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let holder = format!("p{i}");
            store
                .claim_unique("raced", &holder, Duration::from_secs(60))
                .await
                .unwrap()
                .is_none()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1, "exactly one racing claimer takes the lock");
}

/// Pauses are stored, listed sorted, idempotent, and resumed.
pub async fn pauses_persist(store: Arc<dyn Store>) {
    assert!(store.paused_queues().await.unwrap().is_empty());
    store.set_paused("b", true).await.unwrap();
    store.set_paused("a", true).await.unwrap();
    store.set_paused("a", true).await.unwrap();
    assert_eq!(store.paused_queues().await.unwrap(), queues(&["a", "b"]));
    store.set_paused("b", false).await.unwrap();
    store.set_paused("never", false).await.unwrap();
    assert_eq!(store.paused_queues().await.unwrap(), queues(&["a"]));
}

/// A bucket starts full (`burst` tokens), then gives one token per `1/rate` and names the wait.
pub async fn token_bucket_limits_and_refills(store: Arc<dyn Store>) {
    for i in 0..3 {
        assert_eq!(
            store.take_token("b", 5.0, 3).await.unwrap(),
            None,
            "burst token {i}"
        );
    }
    let wait = store
        .take_token("b", 5.0, 3)
        .await
        .unwrap()
        .expect("an empty bucket says how long to wait");
    assert!(
        wait <= Duration::from_millis(200),
        "one token per 200 ms: wait {wait:?}"
    );
    tokio::time::sleep(wait).await;
    eventually("a token comes back at the rate", || async {
        store
            .take_token("b", 5.0, 3)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    // Over a stretch, no more than burst + rate × time tokens are handed out.
    let start = Instant::now();
    let mut taken = 0;
    while start.elapsed() < Duration::from_millis(600) {
        match store.take_token("c", 10.0, 2).await.unwrap() {
            None => taken += 1,
            Some(wait) => tokio::time::sleep(wait.min(Duration::from_millis(50))).await,
        }
    }
    let most = 2.0 + 10.0 * start.elapsed().as_secs_f64() + 1.0;
    assert!(
        f64::from(taken) <= most,
        "{taken} tokens in {:?}",
        start.elapsed()
    );
    assert!(taken >= 3, "the bucket refilled: {taken}");
}

/// At most `max` live holders; a holder renews; release and lease end free slots.
pub async fn slots_bounded_and_freed(store: Arc<dyn Store>) {
    assert!(store.take_slot("s", 2, "a", LONG_LEASE).await.unwrap());
    assert!(store.take_slot("s", 2, "b", SHORT_LEASE).await.unwrap());
    assert!(
        !store.take_slot("s", 2, "c", LONG_LEASE).await.unwrap(),
        "full"
    );
    assert!(
        store.take_slot("s", 2, "a", LONG_LEASE).await.unwrap(),
        "a holder renews"
    );
    eventually("b's lease ended, so c gets its slot", || async {
        store
            .take_slot("s", 2, "c", LONG_LEASE)
            .await
            .unwrap()
            .then_some(())
    })
    .await;
    assert!(!store.take_slot("s", 2, "d", LONG_LEASE).await.unwrap());
    store.release_slot("s", "a").await.unwrap();
    store.release_slot("s", "nobody").await.unwrap();
    assert!(
        store.take_slot("s", 2, "d", LONG_LEASE).await.unwrap(),
        "a released"
    );
    assert!(
        store.take_slot("other", 1, "e", LONG_LEASE).await.unwrap(),
        "keys are apart"
    );
}
