//! Contract cases for leases: expiry and redelivery, extension, stale receipts, and release.

use crate::util::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;
use stem_adapters::Payload;

/// A lease that runs out makes the task fetchable again, with `deliveries` incremented.
pub async fn expired_lease_redelivered(store: Arc<dyn Store>) {
    let env = task("q", "slow");
    store
        .publish(std::slice::from_ref(&env))
        .await
        .expect("publish");
    let first = fetch_now(&store, "c1", "q", 1, SHORT_LEASE).await;
    let leased_at = Instant::now();
    assert_eq!(ids(&first), std::slice::from_ref(&env.id), "first fetch");
    assert!(
        fetch_now(&store, "c2", "q", 1, SHORT_LEASE)
            .await
            .is_empty(),
        "a leased task is invisible to a second consumer"
    );
    let again = fetch_until_some(&store, "c2", "q", 1, LONG_LEASE, "expired lease").await;
    assert_not_before("redelivery", leased_at.elapsed(), SHORT_LEASE);
    assert_eq!(
        ids(&again),
        std::slice::from_ref(&env.id),
        "the same task comes back"
    );
    assert_eq!(again[0].deliveries, 2, "second delivery counts 2");
    assert_ne!(
        again[0].receipt, first[0].receipt,
        "a new lease has a new receipt"
    );
    assert_eq!(
        again[0].payload,
        Payload::Task(Box::new(env)),
        "envelope unchanged"
    );
}

/// Extending a lease keeps the task from a second consumer past its first expiry; the lost
/// receipts are reported once the lease is taken over or acked.
pub async fn extend_keeps_lease(store: Arc<dyn Store>) {
    store.publish(&[task("q", "long")]).await.expect("publish");
    let mine = fetch_now(&store, "c1", "q", 1, SHORT_LEASE).await;
    assert_eq!(mine.len(), 1, "fetch");
    let until = Instant::now() + SHORT_LEASE * 3;
    while Instant::now() < until {
        let lost = store.extend(&mine, SHORT_LEASE).await.expect("extend");
        assert!(lost.is_empty(), "a live lease must extend, lost {lost:?}");
        assert!(
            fetch_now(&store, "c2", "q", 1, SHORT_LEASE)
                .await
                .is_empty(),
            "an extended lease must keep the task from another consumer"
        );
        tokio::time::sleep(SHORT_LEASE / 3).await;
    }
    // Stop extending: another consumer takes the task over.
    let theirs = fetch_until_some(&store, "c2", "q", 1, LONG_LEASE, "lapsed lease").await;
    assert_eq!(theirs[0].deliveries, 2, "taken over as the second delivery");
    let lost = store.extend(&mine, LONG_LEASE).await.expect("extend");
    assert_eq!(
        lost,
        [mine[0].receipt.clone()],
        "extend must report a receipt whose lease was taken over"
    );
    let lost = store.extend(&theirs, LONG_LEASE).await.expect("extend");
    assert!(lost.is_empty(), "the new owner's lease extends");
    store.ack(&theirs).await.expect("ack");
    let lost = store.extend(&theirs, LONG_LEASE).await.expect("extend");
    assert_eq!(
        lost,
        [theirs[0].receipt.clone()],
        "extend must report a receipt that was acked"
    );
}

/// A stale receipt (its lease taken over) acks, releases and dead-letters nothing.
pub async fn stale_receipt_is_noop(store: Arc<dyn Store>) {
    let env = task("q", "contended");
    store
        .publish(std::slice::from_ref(&env))
        .await
        .expect("publish");
    let stale = fetch_now(&store, "old", "q", 1, SHORT_LEASE).await;
    let fresh = fetch_until_some(&store, "new", "q", 1, LONG_LEASE, "take over").await;
    assert_eq!(ids(&fresh), std::slice::from_ref(&env.id), "taken over");

    store.ack(&stale).await.expect("stale ack");
    let c = store.counts("q").await.expect("counts");
    assert_eq!(
        c.leased, 1,
        "a stale ack must not remove the new owner's delivery"
    );

    let mut next = env.clone();
    next.attempt = 2;
    store
        .release(&stale[0], Some(&next), Duration::ZERO)
        .await
        .expect("stale release");
    let c = store.counts("q").await.expect("counts");
    assert_eq!(
        (c.ready, c.delayed, c.leased),
        (0, 0, 1),
        "a stale release must not publish anything nor touch the new lease"
    );

    let letter = super::dlq::letter_for(&stale[0], "stale");
    store
        .dead_letter(&stale[0], &letter)
        .await
        .expect("stale dead letter");
    let c = store.counts("q").await.expect("counts");
    assert_eq!((c.leased, c.dead), (1, 0), "a stale dead_letter is a no-op");

    assert!(
        store
            .extend(&fresh, LONG_LEASE)
            .await
            .expect("extend")
            .is_empty(),
        "the new owner still holds its lease"
    );
    store.ack(&fresh).await.expect("ack");
    let c = store.counts("q").await.expect("counts");
    assert_eq!(
        c.leased + c.ready + c.delayed,
        0,
        "the new owner's ack removes it"
    );
}

/// `release` with a replacement and a delay: not fetchable before the delay, then the
/// replacement (not the original) comes back, once.
pub async fn release_with_replacement_and_delay(store: Arc<dyn Store>) {
    let env = task("q", "flaky");
    store
        .publish(std::slice::from_ref(&env))
        .await
        .expect("publish");
    let got = fetch_now(&store, "c1", "q", 1, LONG_LEASE).await;
    let mut next = env.clone();
    next.attempt = 2;
    next.headers.insert("retry".into(), "1".into());
    let delay = Duration::from_millis(400);
    let released_at = Instant::now();
    store
        .release(&got[0], Some(&next), delay)
        .await
        .expect("release");
    let c = store.counts("q").await.expect("counts");
    assert_eq!(
        (c.ready, c.delayed, c.leased),
        (0, 1, 0),
        "a released task waits out its delay as delayed, no longer leased"
    );
    assert!(
        fetch_now(&store, "c1", "q", 1, LONG_LEASE).await.is_empty(),
        "a release with a delay must not be fetchable at once"
    );
    let back = fetch_until_some(&store, "c2", "q", 1, LONG_LEASE, "released task").await;
    assert_not_before("released task", released_at.elapsed(), delay);
    assert_eq!(back.len(), 1, "released once");
    assert_eq!(
        back[0].payload,
        Payload::Task(Box::new(next)),
        "the replacement comes back"
    );
    store.ack(&back).await.expect("ack");
    assert!(
        store
            .fetch(
                "c1",
                &queues(&["q"]),
                1,
                LONG_LEASE,
                Duration::from_millis(200)
            )
            .await
            .expect("fetch")
            .is_empty(),
        "nothing else is left: the original went away with the release"
    );
}

/// `release` without a replacement or delay makes the same envelope fetchable at once.
pub async fn release_same_envelope_now(store: Arc<dyn Store>) {
    let env = task("q", "again");
    store
        .publish(std::slice::from_ref(&env))
        .await
        .expect("publish");
    let got = fetch_now(&store, "c1", "q", 1, LONG_LEASE).await;
    store
        .release(&got[0], None, Duration::ZERO)
        .await
        .expect("release");
    let back = fetch_until_some(&store, "c2", "q", 1, LONG_LEASE, "released").await;
    assert_eq!(
        back[0].payload,
        Payload::Task(Box::new(env)),
        "the same envelope"
    );
    let lost = store.extend(&got, LONG_LEASE).await.expect("extend");
    assert_eq!(
        lost,
        [got[0].receipt.clone()],
        "the released receipt's lease is gone"
    );
}
