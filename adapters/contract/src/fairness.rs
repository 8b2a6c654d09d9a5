//! Contract cases for fair dequeue across keys: within a queue and priority band, tasks without
//! a fairness key first (oldest first), then keyed tasks in the order of their virtual start,
//! so keys are served round-robin (weighted) whatever their backlogs; leases, releases and
//! counts as for any task. The rules are in `docs/fairness.md`.

use crate::util::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::connect::Store;
use stem_protocol::TaskEnvelope;

/// A task on `queue` with fairness key `key` (and `weight`, when given).
fn keyed(queue: &str, key: &str, weight: Option<u32>) -> TaskEnvelope {
    let mut env = task(queue, &format!("t-{key}"));
    env.fair_key = Some(key.to_string());
    env.fair_weight = weight;
    env
}

async fn publish_keyed(store: &Arc<dyn Store>, queue: &str, key: &str, n: usize) {
    let batch: Vec<TaskEnvelope> = (0..n).map(|_| keyed(queue, key, None)).collect();
    store.publish(&batch).await.expect("publish keyed");
}

/// Fetches and acks `n` tasks one at a time; returns their fairness keys in order (`-` for none).
async fn take_keys(store: &Arc<dyn Store>, queue: &str, n: usize) -> Vec<String> {
    let mut keys = Vec::new();
    for _ in 0..n {
        let got = fetch_until_some(store, "c", queue, 1, LONG_LEASE, "next fair task").await;
        assert_eq!(got.len(), 1, "fetch max 1");
        let env = got[0].task().expect("a task").clone();
        keys.push(env.fair_key.clone().unwrap_or_else(|| "-".into()));
        store.ack(&got).await.expect("ack");
    }
    keys
}

fn tally(keys: &[String]) -> HashMap<&str, usize> {
    let mut out = HashMap::new();
    for k in keys {
        *out.entry(k.as_str()).or_default() += 1;
    }
    out
}

/// A key with a deep backlog does not starve keys that came after it: 30 of `a` then 5 each of
/// `b` and `c` are served a, b, c, a, b, c, … — all of `b` and `c` within the first 15, one task
/// at a time and in one batch alike.
pub async fn fair_round_robin_across_keys(store: Arc<dyn Store>) {
    for queue in ["fair1", "fair1b"] {
        publish_keyed(&store, queue, "a", 30).await;
        publish_keyed(&store, queue, "b", 5).await;
        publish_keyed(&store, queue, "c", 5).await;
    }
    let first = take_keys(&store, "fair1", 15).await;
    let counts = tally(&first);
    assert_eq!(
        (counts.get("b"), counts.get("c"), counts.get("a")),
        (Some(&5), Some(&5), Some(&5)),
        "the first 15 of a backlog of 30 `a` then 5 `b`, 5 `c` must be 5 of each key, got {first:?}"
    );
    // The first three are one of each key: round-robin from the start.
    let head: std::collections::HashSet<&String> = first[..3].iter().collect();
    assert_eq!(
        head.len(),
        3,
        "the first three are one of each key: {first:?}"
    );
    let batch = fetch_until_some(&store, "c", "fair1b", 15, LONG_LEASE, "fair batch").await;
    assert_eq!(batch.len(), 15, "one fetch of 15");
    let keys: Vec<String> = batch
        .iter()
        .map(|d| {
            d.task()
                .and_then(|t| t.fair_key.clone())
                .unwrap_or_default()
        })
        .collect();
    let counts = tally(&keys);
    assert_eq!(
        (counts.get("b"), counts.get("c")),
        (Some(&5), Some(&5)),
        "one fetch of 15 must take all of `b` and `c` too, got {keys:?}"
    );
    // The rest is `a`'s, and nothing is lost.
    let rest = take_keys(&store, "fair1", 25).await;
    assert!(
        rest.iter().all(|k| k == "a"),
        "then the rest of a: {rest:?}"
    );
    assert!(
        fetch_now(&store, "c", "fair1", 1, LONG_LEASE)
            .await
            .is_empty(),
        "40 published, 40 fetched"
    );
}

/// A key that starts while another is being served joins at the queue's current turn: neither
/// ahead of the whole backlog (it banked no credit while idle) nor behind it.
pub async fn fair_new_key_joins_at_the_clock(store: Arc<dyn Store>) {
    publish_keyed(&store, "fair2", "a", 20).await;
    let early = take_keys(&store, "fair2", 10).await;
    assert!(early.iter().all(|k| k == "a"));
    publish_keyed(&store, "fair2", "b", 3).await;
    let next = take_keys(&store, "fair2", 6).await;
    let pair = tally(&next[..2]);
    assert_eq!(
        (pair.get("a"), pair.get("b")),
        (Some(&1), Some(&1)),
        "a key joining after 10 of `a` were served alternates with `a` from its first task \
         (not three in a row as if it had been waiting since the start), got {next:?}"
    );
    assert_eq!(
        tally(&next).get("b"),
        Some(&3),
        "all of `b` in the next six: {next:?}"
    );
    // `b` idle, `a` served on: when `b` comes back it does not go ahead of `a` for long.
    let _ = take_keys(&store, "fair2", 7).await;
    publish_keyed(&store, "fair2", "a", 10).await;
    publish_keyed(&store, "fair2", "b", 10).await;
    let again = take_keys(&store, "fair2", 4).await;
    let counts = tally(&again);
    assert!(
        counts.get("a").copied().unwrap_or(0) >= 1 && counts.get("b").copied().unwrap_or(0) >= 1,
        "an idle key banks no turns: both keys within four, got {again:?}"
    );
}

/// A key of weight 3 gets three turns to one of weight 1.
pub async fn fair_weights(store: Arc<dyn Store>) {
    let heavy: Vec<TaskEnvelope> = (0..30).map(|_| keyed("fair3", "a", Some(3))).collect();
    store.publish(&heavy).await.expect("publish");
    let light: Vec<TaskEnvelope> = (0..30).map(|_| keyed("fair3", "b", None)).collect();
    store.publish(&light).await.expect("publish");
    let first = take_keys(&store, "fair3", 12).await;
    let a = tally(&first).get("a").copied().unwrap_or(0);
    assert!(
        (8..=10).contains(&a),
        "weights 3:1 over 12 tasks should give `a` about 9, got {a}: {first:?}"
    );
}

/// Priority still comes first, across keys; within a priority, tasks without a key come before
/// keyed ones; within a key, the higher priority first.
pub async fn fair_priority_and_unkeyed_first(store: Arc<dyn Store>) {
    let q = "fair4";
    let a_low = keyed(q, "a", None);
    let plain1 = task(q, "plain");
    let plain2 = task(q, "plain");
    let mut b_high = keyed(q, "b", None);
    b_high.priority = 5;
    let mut a_high = keyed(q, "a", None);
    a_high.priority = 5;
    for env in [&a_low, &plain1, &plain2, &b_high, &a_high] {
        store
            .publish(std::slice::from_ref(env))
            .await
            .expect("publish");
    }
    let mut order = Vec::new();
    for _ in 0..5 {
        let got = fetch_until_some(&store, "c", q, 1, LONG_LEASE, "next").await;
        order.push(got[0].task_id());
        store.ack(&got).await.expect("ack");
    }
    let high: std::collections::HashSet<&String> = order[..2].iter().collect();
    assert!(
        high.contains(&b_high.id) && high.contains(&a_high.id),
        "the priority-5 tasks of both keys come first: {order:?}"
    );
    assert_eq!(
        order[2..],
        [plain1.id.clone(), plain2.id.clone(), a_low.id.clone()],
        "then, at priority 0, the unkeyed tasks (oldest first) before the keyed one"
    );
}

/// A keyed task's lease, redelivery, release and counts are those of any task.
pub async fn fair_leases_and_release_unchanged(store: Arc<dyn Store>) {
    let q = "fair5";
    let one = keyed(q, "a", None);
    let two = keyed(q, "b", Some(2));
    store
        .publish(&[one.clone(), two.clone()])
        .await
        .expect("publish");
    let counts = store.counts(q).await.expect("counts");
    assert_eq!(counts.ready, 2, "keyed tasks count as ready: {counts:?}");
    let first = fetch_now(&store, "c1", q, 2, SHORT_LEASE).await;
    assert_eq!(first.len(), 2, "both fetched");
    assert!(
        fetch_now(&store, "c2", q, 2, SHORT_LEASE).await.is_empty(),
        "a leased keyed task is invisible to a second consumer"
    );
    let again = fetch_until_some(&store, "c2", q, 2, LONG_LEASE, "keyed lease lapsed").await;
    assert!(
        again.iter().all(|d| d.deliveries == 2),
        "a lapsed keyed lease is redelivered, counted: {again:?}"
    );
    let again = if again.len() < 2 {
        let mut more = again;
        more.extend(fetch_until_some(&store, "c2", q, 2, LONG_LEASE, "the other").await);
        more
    } else {
        again
    };
    let back = again.iter().find(|d| d.task_id() == one.id).expect("one");
    store
        .release(back, None, Duration::from_millis(300))
        .await
        .expect("release");
    let counts = store.counts(q).await.expect("counts");
    assert_eq!(
        (counts.delayed, counts.leased),
        (1, 1),
        "a released keyed task waits its delay: {counts:?}"
    );
    let other: Vec<_> = again
        .iter()
        .filter(|d| d.task_id() != one.id)
        .cloned()
        .collect();
    store.ack(&other).await.expect("ack");
    let later = fetch_until_some(&store, "c3", q, 1, LONG_LEASE, "released keyed task").await;
    assert_eq!(later[0].task_id(), one.id, "the released task comes back");
    let env = later[0].task().expect("task");
    assert_eq!(env.fair_key.as_deref(), Some("a"), "with its key");
    store.ack(&later).await.expect("ack");
    let counts = store.counts(q).await.expect("counts");
    assert_eq!((counts.ready, counts.delayed, counts.leased), (0, 0, 0));
}
