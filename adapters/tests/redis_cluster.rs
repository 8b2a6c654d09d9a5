//! The Redis adapter on a private three-master Redis Cluster, beyond the contract suite: queues
//! spread across the shards while each queue (and the rest of the keys) stays in one slot; a
//! fetch over queues on different shards takes them in order and its wait wakes on any of them;
//! a publish left in a queue's outbox by a crashed committer is sent by a later fetch; bad URLs
//! and namespaces are refused with one line. Skips when `redis-server` is not installed.

#![cfg(feature = "redis")]

mod cluster_support;
mod redis_support;

use cluster_support::Cluster;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use stem_protocol::{now_ms, TaskEnvelope};

fn task(queue: &str, name: &str) -> TaskEnvelope {
    let mut env = TaskEnvelope::new(name);
    env.queue = queue.to_string();
    env
}

fn queues(names: &[&str]) -> Vec<String> {
    names.iter().map(|q| q.to_string()).collect()
}

const LEASE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_spread_across_shards_and_each_stays_in_one_slot() {
    let Some(cluster) = Cluster::start("queues_spread_across_shards") else {
        return;
    };
    let ns = redis_support::fresh_namespace();
    let store = redis_support::open(&cluster.url(), &ns).await;
    let names: Vec<String> = (1..=12).map(|i| format!("q{i}")).collect();
    let tasks: Vec<TaskEnvelope> = names.iter().map(|q| task(q, "noop")).collect();
    store.publish(&tasks).await.expect("publish");
    let mut delayed = task("q1", "later");
    delayed.eta = Some(now_ms() + 600_000);
    store.publish(&[delayed]).await.expect("publish delayed");
    // Which node holds each queue's keys, and the rest of the namespace's keys.
    let mut owner: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    let mut rest: BTreeSet<u16> = BTreeSet::new();
    for &port in cluster.ports() {
        for key in cluster.keys(port, &format!("{ns}:*")) {
            let queue = key.split('{').nth(1).and_then(|t| t.split('}').next());
            let queue = queue.expect("a queue key carries its hash tag").to_string();
            owner.entry(queue).or_default().insert(port);
        }
        if !cluster.keys(port, &format!("{{{ns}}}:*")).is_empty() {
            rest.insert(port);
        }
    }
    assert_eq!(owner.len(), names.len(), "every queue has keys: {owner:?}");
    for (queue, ports) in &owner {
        assert_eq!(ports.len(), 1, "queue {queue} is on one node: {ports:?}");
    }
    let used: BTreeSet<u16> = owner.values().flatten().copied().collect();
    assert_eq!(
        used.len(),
        3,
        "12 queues spread over all 3 shards: {owner:?}"
    );
    assert_eq!(
        rest.len(),
        1,
        "the non-queue keys are on one node: {rest:?}"
    );
    // Each queue's task is there, once.
    for q in &names {
        let got = store
            .fetch("c", &queues(&[q]), 10, LEASE, Duration::ZERO)
            .await
            .expect("fetch");
        assert_eq!(got.len(), 1, "queue {q}");
    }
    // The keys of q1 (its streams made by the fetch, a lease set, the delayed set) share one slot.
    let port = *owner["q1"].iter().next().expect("q1's node");
    let slots: BTreeSet<String> = cluster
        .keys(port, &format!("{ns}:*{{q1}}*"))
        .iter()
        .map(|k| cluster.cli(port, &["CLUSTER", "KEYSLOT", k]))
        .collect();
    assert_eq!(slots.len(), 1, "q1's keys are one slot: {slots:?}");
    let slot = slots.into_iter().next().expect("a slot");
    let held = cluster.cli(port, &["CLUSTER", "COUNTKEYSINSLOT", &slot]);
    assert!(
        held.parse::<u32>().unwrap_or(0) >= 11,
        "10 streams + delayed: {held}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_over_shards_keeps_queue_order_and_wakes_on_any() {
    let Some(cluster) = Cluster::start("fetch_over_shards") else {
        return;
    };
    let store = redis_support::open(&cluster.url(), &redis_support::fresh_namespace()).await;
    let qs = queues(&["a", "b", "c", "d", "e", "f"]);
    for q in qs.iter().rev() {
        store.publish(&[task(q, q)]).await.expect("publish");
    }
    let got = store
        .fetch("w", &qs, 4, LEASE, Duration::ZERO)
        .await
        .expect("fetch");
    let names: Vec<String> = got.iter().map(|d| d.task().unwrap().name.clone()).collect();
    assert_eq!(
        names,
        ["a", "b", "c", "d"],
        "queues in the order given, max kept"
    );
    store.ack(&got).await.expect("ack across shards");
    let extended = store.extend(&got, LEASE).await.expect("extend");
    assert_eq!(extended.len(), 4, "acked deliveries are lost to extend");
    let rest = store
        .fetch("w", &qs, 10, LEASE, Duration::ZERO)
        .await
        .expect("fetch");
    assert_eq!(rest.len(), 2, "e and f are left");
    store.ack(&rest).await.expect("ack");
    // A waiting fetch over all six wakes on a publish to the last of them.
    let waiter = {
        let store = store.clone();
        let qs = qs.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let got = store
                .fetch("w", &qs, 1, LEASE, Duration::from_secs(8))
                .await;
            (got, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    store.publish(&[task("f", "late")]).await.expect("publish");
    let (got, took) = waiter.await.expect("waiter");
    assert_eq!(got.expect("fetch").len(), 1, "woke with the task");
    assert!(
        took < Duration::from_secs(4),
        "woke on the publish, not the timeout: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_left_by_a_crashed_committer_is_sent() {
    let Some(cluster) = Cluster::start("outbox_left_behind") else {
        return;
    };
    let ns = redis_support::fresh_namespace();
    let store = redis_support::open(&cluster.url(), &ns).await;
    // What a commit on queue "src" leaves for queue "dst" when its writer dies before sending.
    let env = task("dst", "follow-up");
    let json = stem_adapters::codec::encode_envelope(&env);
    let stream = format!("{ns}:q:{{dst}}:p{}", env.priority);
    let item = serde_json::json!(["ready", 0, "dst", stream, json]);
    let old = now_ms() - 60_000;
    let seed = format!("redis://127.0.0.1:{}/", cluster.ports()[0]);
    let client = redis::cluster::ClusterClient::new(vec![seed]).expect("cluster client");
    let mut raw = client
        .get_async_connection()
        .await
        .expect("raw cluster connection");
    let outbox = format!("{ns}:q:{{src}}:outbox");
    redis::cmd("HSET")
        .arg(&outbox)
        .arg(format!("{old}-x"))
        .arg(item.to_string())
        .exec_async(&mut raw)
        .await
        .expect("hset");
    // A fresh consumer's first fetch sweeps the outboxes of its queues.
    let got = store
        .fetch("w", &queues(&["src", "dst"]), 10, LEASE, Duration::ZERO)
        .await
        .expect("fetch");
    assert_eq!(got.len(), 1, "the left-over publish was sent");
    assert_eq!(got[0].task().map(|t| t.id.clone()), Some(env.id.clone()));
    let left: u64 = redis::cmd("HLEN")
        .arg(&outbox)
        .query_async(&mut raw)
        .await
        .expect("hlen");
    assert_eq!(left, 0, "and removed from the outbox");
    assert!(store
        .queues()
        .await
        .expect("queues")
        .contains(&"dst".to_string()));
}

#[tokio::test]
async fn bad_cluster_urls_and_namespaces_are_refused_in_one_line() {
    for (url, what) in [
        ("redis+cluster://127.0.0.1", "has no :port"),
        ("redis+cluster://127.0.0.1:7000/2", "only database 0"),
        ("redis+cluster://", "no seed node"),
    ] {
        let err = stem_adapters::redis::open(url, &redis_support::options("ns"))
            .await
            .err()
            .expect("refused");
        assert!(err.message.contains(what), "{url}: {err}");
        assert!(!err.message.contains('\n'), "{err}");
    }
    let err = stem_adapters::redis::open(
        "redis+cluster://127.0.0.1:1",
        &redis_support::options("a{b"),
    )
    .await
    .err()
    .expect("refused");
    assert!(err.message.contains("brace"), "{err}");
    let err =
        stem_adapters::redis::open("redis+cluster://127.0.0.1:1", &redis_support::options("ns"))
            .await
            .err()
            .expect("nothing listens on port 1");
    assert!(err.message.contains("no seed node answered"), "{err}");
    assert!(!err.message.contains('\n'), "{err}");
}
