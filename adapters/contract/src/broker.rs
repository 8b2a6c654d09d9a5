//! Contract cases for the basic broker path: publish, fetch order and limits, ack, waiting
//! fetches, queue sizes and the list of queues.

use crate::util::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;
use stem_adapters::{Payload, QueueCounts};

/// A published task is fetched once with its envelope intact, and gone after its ack.
pub async fn publish_fetch_ack(store: Arc<dyn Store>) {
    let env = task("q", "add");
    store
        .publish(std::slice::from_ref(&env))
        .await
        .expect("publish");
    let got = fetch_now(&store, "c1", "q", 10, LONG_LEASE).await;
    assert_eq!(got.len(), 1, "publish then fetch: expected one delivery");
    let d = &got[0];
    assert_eq!(d.queue, "q", "delivery names its queue");
    assert_eq!(d.deliveries, 1, "first delivery counts 1");
    assert_eq!(
        d.payload,
        Payload::Task(Box::new(env.clone())),
        "envelope round-trips"
    );
    assert!(!d.receipt.is_empty(), "a delivery carries a receipt");
    assert!(
        fetch_now(&store, "c1", "q", 10, LONG_LEASE)
            .await
            .is_empty(),
        "a leased task must not be fetched again"
    );
    store.ack(&got).await.expect("ack");
    let counts = store.counts("q").await.expect("counts");
    assert_eq!(
        counts,
        QueueCounts::default(),
        "after ack the queue is empty"
    );
}

/// Higher priority first, then oldest first within one priority.
pub async fn priority_then_fifo(store: Arc<dyn Store>) {
    let mut published = Vec::new();
    for (i, priority) in [0u8, 5, 0, 9, 5, 0].into_iter().enumerate() {
        let mut env = task("q", &format!("t{i}"));
        env.priority = priority;
        published.push(env);
    }
    // One at a time, so the order of arrival is unambiguous.
    for env in &published {
        store
            .publish(std::slice::from_ref(env))
            .await
            .expect("publish");
    }
    let mut order = Vec::new();
    for _ in 0..published.len() {
        let got = fetch_now(&store, "c1", "q", 1, LONG_LEASE).await;
        assert_eq!(got.len(), 1, "fetch with max 1 returns one task");
        order.push(got[0].task().expect("task").name.clone());
    }
    assert_eq!(
        order,
        ["t3", "t1", "t4", "t0", "t2", "t5"],
        "fetch order must be priority descending, then publish order"
    );
    // A batch fetch keeps the same order.
    store.publish(&published).await.expect("publish batch");
    let got = fetch_now(&store, "c1", "q", 10, LONG_LEASE).await;
    let names: Vec<_> = got.iter().map(|d| d.task().unwrap().name.clone()).collect();
    assert_eq!(
        names,
        ["t3", "t1", "t4", "t0", "t2", "t5"],
        "one batch fetch must return tasks in priority, then publish order"
    );
}

/// `fetch` never returns more than `max`.
pub async fn fetch_respects_max(store: Arc<dyn Store>) {
    let batch: Vec<_> = (0..7).map(|i| task("q", &format!("t{i}"))).collect();
    store.publish(&batch).await.expect("publish");
    let first = fetch_now(&store, "c1", "q", 3, LONG_LEASE).await;
    assert_eq!(first.len(), 3, "fetch max 3 of 7");
    let second = fetch_now(&store, "c1", "q", 3, LONG_LEASE).await;
    assert_eq!(second.len(), 3, "second fetch max 3 of the 4 left");
    let third = fetch_now(&store, "c1", "q", 3, LONG_LEASE).await;
    assert_eq!(third.len(), 1, "third fetch gets the last one");
    let mut all = ids(&first);
    all.extend(ids(&second));
    all.extend(ids(&third));
    all.sort();
    let mut expected: Vec<_> = batch.iter().map(|e| e.id.clone()).collect();
    expected.sort();
    assert_eq!(all, expected, "every task delivered exactly once");
}

/// A fetch reads only the queues it names, and deliveries name their queue.
pub async fn fetch_only_named_queues(store: Arc<dyn Store>) {
    store
        .publish(&[task("a", "ta"), task("b", "tb"), task("c", "tc")])
        .await
        .expect("publish");
    let got = store
        .fetch("c1", &queues(&["a", "b"]), 10, LONG_LEASE, NO_WAIT)
        .await
        .expect("fetch");
    let mut seen: Vec<_> = got
        .iter()
        .map(|d| (d.queue.clone(), d.task().unwrap().name.clone()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [("a".into(), "ta".into()), ("b".into(), "tb".into())],
        "fetch from [a, b] must return exactly the tasks of a and b"
    );
    let c = fetch_now(&store, "c1", "c", 10, LONG_LEASE).await;
    assert_eq!(c.len(), 1, "queue c is untouched by a fetch of [a, b]");
}

/// A waiting fetch returns promptly when a task is published during the wait.
pub async fn fetch_wait_wakes_on_publish(store: Arc<dyn Store>) {
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let got = store
                .fetch("c1", &queues(&["q"]), 1, LONG_LEASE, Duration::from_secs(8))
                .await
                .expect("fetch");
            (got, start.elapsed())
        })
    };
    // Give the fetch time to start waiting; the case holds whichever runs first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let env = task("q", "late");
    store
        .publish(std::slice::from_ref(&env))
        .await
        .expect("publish");
    let (got, elapsed) = waiter.await.expect("waiter");
    assert_eq!(ids(&got), [env.id], "the waiting fetch gets the new task");
    assert!(
        elapsed < Duration::from_secs(3),
        "a waiting fetch must wake on publish, took {elapsed:?} of an 8 s wait"
    );
}

/// A waiting fetch on an empty queue returns empty after about `wait`.
pub async fn fetch_wait_times_out_empty(store: Arc<dyn Store>) {
    let start = Instant::now();
    let got = store
        .fetch(
            "c1",
            &queues(&["q"]),
            1,
            LONG_LEASE,
            Duration::from_millis(300),
        )
        .await
        .expect("fetch");
    let elapsed = start.elapsed();
    assert!(got.is_empty(), "nothing published, nothing fetched");
    assert_not_before(
        "empty fetch with wait 300 ms",
        elapsed,
        Duration::from_millis(300),
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "an empty fetch must return after its wait, took {elapsed:?}"
    );
}

/// `counts` reports ready, delayed, leased and dead tasks of one queue.
pub async fn counts_track_states(store: Arc<dyn Store>) {
    let ready: Vec<_> = (0..3).map(|i| task("q", &format!("r{i}"))).collect();
    store.publish(&ready).await.expect("publish");
    store
        .publish(&[delayed_task("q", "later", Duration::from_secs(60))])
        .await
        .expect("publish delayed");
    store
        .publish(&[task("other", "x")])
        .await
        .expect("publish other");
    let c = store.counts("q").await.expect("counts");
    assert_eq!(
        c,
        QueueCounts {
            ready: 3,
            delayed: 1,
            leased: 0,
            dead: 0
        },
        "after publishing 3 ready and 1 delayed"
    );
    let got = fetch_now(&store, "c1", "q", 2, LONG_LEASE).await;
    let c = store.counts("q").await.expect("counts");
    assert_eq!(
        c,
        QueueCounts {
            ready: 1,
            delayed: 1,
            leased: 2,
            dead: 0
        },
        "after leasing 2"
    );
    let letter = super::dlq::letter_for(&got[0], "contract");
    store
        .dead_letter(&got[0], &letter)
        .await
        .expect("dead letter");
    store.ack(&got[1..]).await.expect("ack");
    let c = store.counts("q").await.expect("counts");
    assert_eq!(
        c,
        QueueCounts {
            ready: 1,
            delayed: 1,
            leased: 0,
            dead: 1
        },
        "after dead-lettering one and acking one"
    );
    let empty = store.counts("never-used").await.expect("counts");
    assert_eq!(
        empty,
        QueueCounts::default(),
        "an unknown queue counts zero"
    );
}

/// `queues` lists every queue that saw a publish or holds dead letters.
pub async fn queues_lists_known(store: Arc<dyn Store>) {
    store
        .publish(&[task("alpha", "a"), task("beta", "b")])
        .await
        .expect("publish");
    let got = fetch_now(&store, "c1", "beta", 1, LONG_LEASE).await;
    store.ack(&got).await.expect("ack");
    let mut names = store.queues().await.expect("queues");
    names.sort();
    assert!(
        names.contains(&"alpha".to_string()) && names.contains(&"beta".to_string()),
        "queues() must list alpha and beta (beta though it is drained), got {names:?}"
    );
    assert!(
        !names.contains(&"gamma".to_string()),
        "queues() must not invent queues, got {names:?}"
    );
    stem_adapters::Broker::ping(store.as_ref())
        .await
        .expect("broker ping");
}

/// Acking many deliveries at once removes them all.
pub async fn ack_many(store: Arc<dyn Store>) {
    let batch: Vec<_> = (0..50).map(|i| task("q", &format!("t{i}"))).collect();
    store.publish(&batch).await.expect("publish");
    let got = fetch_now(&store, "c1", "q", 100, LONG_LEASE).await;
    assert_eq!(got.len(), 50, "fetch all 50");
    store.ack(&got).await.expect("ack");
    assert_eq!(
        store.counts("q").await.expect("counts"),
        QueueCounts::default(),
        "acking 50 deliveries in one call removes all of them"
    );
    store
        .ack(&got)
        .await
        .expect("acking twice is a no-op, not an error");
}
