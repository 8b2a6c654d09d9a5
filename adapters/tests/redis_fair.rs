//! Fair dequeue on Redis, the parts the contract cases cannot see: a keyed task published
//! delayed keeps the vt it got at publish when it falls due; garbage in the fair zsets, the
//! delayed set and the fairness state comes out as malformed deliveries, never a script error;
//! a keyed publish wakes a blocked fetch of another process.

#![cfg(feature = "redis")]

mod redis_support;

use redis_support::{fresh_namespace, open, raw, redis_url};
use std::time::{Duration, Instant};
use stem_adapters::{DeadLetter, Held, Payload};
use stem_protocol::{now_ms, TaskEnvelope};

const LEASE: Duration = Duration::from_secs(30);

fn keyed(key: &str) -> TaskEnvelope {
    let mut env = TaskEnvelope::new(format!("t-{key}"));
    env.fair_key = Some(key.to_string());
    env
}

/// The Redis server's clock, in ms (the one etas are judged by).
async fn server_ms(conn: &mut redis::aio::MultiplexedConnection) -> i64 {
    let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(conn).await.unwrap();
    secs * 1000 + micros / 1000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_delayed_task_keeps_its_vt_when_due() {
    let Some(url) = redis_url("keyed_delayed_task_keeps_its_vt_when_due") else {
        return;
    };
    let store = open(&url, &fresh_namespace()).await;
    let mut conn = raw(&url).await;
    // vts: a1 1, a2 2, later 3 (delayed), b1 1, b2 2, b3 3 (in millions).
    let (a1, a2) = (keyed("a"), keyed("a"));
    let mut later = keyed("a");
    later.eta = Some(server_ms(&mut conn).await + 300);
    let b: Vec<TaskEnvelope> = (0..3).map(|_| keyed("b")).collect();
    store.publish(&[a1.clone(), a2.clone()]).await.unwrap();
    store.publish(std::slice::from_ref(&later)).await.unwrap();
    store.publish(&b).await.unwrap();
    let counts = store.counts("default").await.unwrap();
    assert_eq!((counts.ready, counts.delayed), (5, 1), "{counts:?}");
    let peeked = store.peek("default", Held::Delayed, 10).await.unwrap();
    assert_eq!(peeked.len(), 1);
    match &peeked[0].payload {
        Payload::Task(t) => assert_eq!(t.id, later.id),
        other => panic!("the delayed keyed task peeks as {other:?}"),
    }

    let deadline = Instant::now() + Duration::from_secs(10);
    while server_ms(&mut conn).await <= later.eta.unwrap() {
        assert!(
            Instant::now() < deadline,
            "the server clock never passed the eta"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = store
        .fetch("c", &["default".to_string()], 10, LEASE, Duration::ZERO)
        .await
        .unwrap();
    let order: Vec<String> = got.iter().map(|d| d.task_id()).collect();
    let want = [&a1, &b[0], &a2, &b[1], &later, &b[2]].map(|t| t.id.clone());
    assert_eq!(
        order, want,
        "the due task takes its turn by the vt it got at publish (3), not first"
    );
    assert_eq!(got[4].task().unwrap().fair_key.as_deref(), Some("a"));
    store.ack(&got).await.unwrap();
    let counts = store.counts("default").await.unwrap();
    assert_eq!((counts.ready, counts.delayed, counts.leased), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_in_the_fair_keys_is_delivered_as_malformed() {
    let Some(url) = redis_url("garbage_in_the_fair_keys_is_delivered_as_malformed") else {
        return;
    };
    let ns = fresh_namespace();
    let store = open(&url, &ns).await;
    let queues = vec!["default".to_string()];
    store
        .fetch("c", &queues, 1, LEASE, Duration::ZERO)
        .await
        .unwrap();
    let mut conn = raw(&url).await;
    let fair = format!("{ns}:q:default:p0:fair");
    let members: [&[u8]; 3] = [&[0xff, 0xfe, 0x00], b"no bar at all", b"0000|not json"];
    for (i, m) in members.iter().enumerate() {
        redis::cmd("ZADD")
            .arg(&fair)
            .arg(i)
            .arg(*m)
            .exec_async(&mut conn)
            .await
            .unwrap();
    }
    // A delayed member in the keyed form with a vt that is no number, and a fairness state
    // that is not one: neither stops a fetch.
    redis::cmd("ZADD")
        .arg(format!("{ns}:delayed:default"))
        .arg(0)
        .arg("0#nan#x|{")
        .exec_async(&mut conn)
        .await
        .unwrap();
    redis::cmd("HSET")
        .arg(format!("{ns}:q:default:fair"))
        .arg("clock")
        .arg("garbage")
        .arg("k:good")
        .arg("inf")
        .arg("scan")
        .arg("not a cursor")
        .exec_async(&mut conn)
        .await
        .unwrap();
    let good = keyed("good");
    store.publish(std::slice::from_ref(&good)).await.unwrap();
    let counts = store.counts("default").await.unwrap();
    assert_eq!(counts.ready, 4, "{counts:?}");

    let got = store
        .fetch("c", &queues, 10, LEASE, Duration::ZERO)
        .await
        .expect("garbage in the fair keys never fails a fetch");
    assert_eq!(got.len(), 5, "{got:?}");
    let malformed: Vec<_> = got
        .iter()
        .filter(|d| matches!(d.payload, Payload::Malformed { .. }))
        .collect();
    assert_eq!(malformed.len(), 4, "{got:?}");
    assert!(got.iter().any(|d| d.task() == Some(&good)));

    // The worker dead-letters malformed deliveries, as any other.
    let bad = malformed[0];
    let letter = DeadLetter {
        id: bad.task_id(),
        queue: "default".into(),
        envelope: None,
        raw: Some("garbage".into()),
        reason: "malformed envelope".into(),
        error: None,
        sealed_error: None,
        dead_at: now_ms(),
        replay_count: 0,
        replayed_at: None,
    };
    store.dead_letter(bad, &letter).await.unwrap();
    let rest: Vec<_> = got
        .iter()
        .filter(|d| d.receipt != bad.receipt)
        .cloned()
        .collect();
    store.ack(&rest).await.unwrap();
    assert_eq!(store.counts("default").await.unwrap().dead, 1);
    // And fairness carries on: the next keyed task is fetched.
    let next = keyed("good");
    store.publish(std::slice::from_ref(&next)).await.unwrap();
    let got = store
        .fetch("c", &queues, 10, LEASE, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].task(), Some(&next));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_publish_wakes_a_blocked_fetch() {
    let Some(url) = redis_url("keyed_publish_wakes_a_blocked_fetch") else {
        return;
    };
    let ns = fresh_namespace();
    // Two stores, as two processes: no in-process notice reaches the fetcher.
    let fetcher = open(&url, &ns).await;
    let producer = open(&url, &ns).await;
    let queues = vec!["default".to_string()];
    fetcher
        .fetch("c", &queues, 1, LEASE, Duration::ZERO)
        .await
        .unwrap();
    let wait = tokio::spawn(async move {
        let got = fetcher
            .fetch("c", &queues, 1, LEASE, Duration::from_secs(20))
            .await
            .unwrap();
        (got, Instant::now())
    });
    // Into the fetch's first block (up to 1 s); if it was not blocked yet, its script finds
    // the task, which passes too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let env = keyed("k");
    let sent = Instant::now();
    producer.publish(std::slice::from_ref(&env)).await.unwrap();
    let (got, at) = wait.await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].task(), Some(&env));
    // Without the wake-up the fetch would sleep out its 1 s block (~700 ms after the publish).
    let took = at.saturating_duration_since(sent);
    assert!(took < Duration::from_millis(600), "woke after {took:?}");
}
