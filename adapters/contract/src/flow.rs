//! Contract cases for flow control: unique locks (one holder, released or expired, racing
//! claimers, runs: a stale holder taken over once, an old run's release or final record never
//! freeing a newer run's lock), persisted pauses, token buckets (burst, refill, the wait they name) and slots
//! (at most `max` live holders, freed by release or lease end).

use crate::util::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;

/// One holder per key until it releases (only its own lock) or the lock expires.
pub async fn unique_lock_one_holder(store: Arc<dyn Store>) {
    let ttl = Duration::from_secs(60);
    assert_eq!(
        store.claim_unique("k", "a", ttl, None).await.unwrap(),
        None,
        "first claim takes it"
    );
    assert_eq!(
        store.claim_unique("k", "a", ttl, None).await.unwrap(),
        None,
        "its holder renews"
    );
    assert_eq!(
        store.claim_unique("k", "b", ttl, None).await.unwrap(),
        Some("a".to_string()),
        "another claimer is told who holds it"
    );
    assert!(
        !store.release_unique("k", "b").await.unwrap(),
        "only the holder releases"
    );
    assert!(store.release_unique("k", "a").await.unwrap());
    assert_eq!(
        store
            .claim_unique("k", "b", SHORT_LEASE, None)
            .await
            .unwrap(),
        None,
        "free again"
    );
    eventually("an expired lock is taken over", || async {
        store
            .claim_unique("k", "c", ttl, None)
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
                .claim_unique("raced", &holder, Duration::from_secs(60), None)
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

/// A claim replaces only the stale holder it names; a replaced holder's release is a no-op.
pub async fn unique_lock_take_over_stale_holder(store: Arc<dyn Store>) {
    let ttl = Duration::from_secs(60);
    assert_eq!(
        store.claim_unique("k", "r1", ttl, None).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_unique("k", "r2", ttl, Some("r0"))
            .await
            .unwrap(),
        Some("r1".to_string()),
        "naming another stale holder does not take a live lock"
    );
    assert_eq!(
        store
            .claim_unique("k", "r2", ttl, Some("r1"))
            .await
            .unwrap(),
        None,
        "the stale holder is replaced"
    );
    assert!(
        !store.release_unique("k", "r1").await.unwrap(),
        "the replaced run's release does not free the new run's lock"
    );
    assert_eq!(
        store
            .claim_unique("k", "r3", ttl, Some("r1"))
            .await
            .unwrap(),
        Some("r2".to_string()),
        "a second take-over of the same stale holder fails"
    );
}

/// A run's final record frees its lock for one of many racing producers; an earlier run's final
/// record (still the id's record while a new run is queued) frees nothing; a new run's lock is
/// released only by that run.
pub async fn unique_run_taken_over_once_after_its_final_record(store: Arc<dyn Store>) {
    use stem_adapters::flow::claim_run;
    use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};
    let ttl = Duration::from_secs(60);
    let key = "id:job-1";
    let finished = |run: &str, generation: u64| {
        let mut env = TaskEnvelope::new("rec");
        env.id = "job-1".into();
        env.headers
            .insert(stem_protocol::record::RUN_HEADER.into(), run.into());
        let mut record = TaskRecord::pending(&env);
        record.state = TaskState::Success;
        record.generation = generation;
        record
    };
    assert_eq!(
        claim_run(store.as_ref(), store.as_ref(), key, "job-1#r1", ttl)
            .await
            .unwrap(),
        None
    );
    store.set(&[finished("job-1#r1", 10)], ttl).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let holder = format!("job-1#p{i}");
            let other = claim_run(store.as_ref(), store.as_ref(), key, &holder, ttl)
                .await
                .unwrap();
            other.is_none().then_some(holder)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        winners.extend(t.await.unwrap());
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one producer takes over: {winners:?}"
    );
    let winner = winners.remove(0);
    assert_eq!(
        claim_run(store.as_ref(), store.as_ref(), key, "job-1#late", ttl)
            .await
            .unwrap()
            .as_deref(),
        Some(winner.as_str()),
        "r1's final record does not free the new run's lock"
    );
    assert!(!store.release_unique(key, "job-1#r1").await.unwrap());
    store.set(&[finished(&winner, 20)], ttl).await.unwrap();
    assert_eq!(
        claim_run(store.as_ref(), store.as_ref(), key, "job-1#next", ttl)
            .await
            .unwrap(),
        None,
        "the new run's own final record frees it"
    );
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
