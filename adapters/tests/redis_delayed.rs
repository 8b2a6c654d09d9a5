//! Delayed tasks on Redis: each moves to its stream exactly once however many consumers race for
//! it, and a blocking fetch wakes when one falls due instead of sleeping through its wait.

#![cfg(feature = "redis")]

mod redis_support;

use redis_support::{fresh_namespace, open, redis_url};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use stem_protocol::{now_ms, TaskEnvelope};

fn delayed(ms: i64) -> TaskEnvelope {
    let mut env = TaskEnvelope::new("later");
    env.eta = Some(now_ms() + ms);
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delayed_tasks_move_exactly_once_across_fetchers() {
    let Some(url) = redis_url("delayed_tasks_move_exactly_once_across_fetchers") else {
        return;
    };
    let ns = fresh_namespace();
    let producer = open(&url, &ns).await;
    let tasks: Vec<_> = (0..60).map(|i| delayed(300 + (i % 3) * 100)).collect();
    producer.publish(&tasks).await.unwrap();
    assert_eq!(producer.counts("default").await.unwrap().delayed, 60);
    let fetchers: Vec<_> = (0..6)
        .map(|n| {
            let url = url.clone();
            let ns = ns.clone();
            tokio::spawn(async move {
                let store = open(&url, &ns).await;
                let queues = vec!["default".to_string()];
                let mut ids = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(3);
                while Instant::now() < deadline {
                    let got = store
                        .fetch(
                            &format!("c{n}"),
                            &queues,
                            4,
                            Duration::from_secs(30),
                            Duration::from_millis(200),
                        )
                        .await
                        .unwrap();
                    store.ack(&got).await.unwrap();
                    ids.extend(got.iter().map(|d| d.task_id()));
                }
                ids
            })
        })
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for f in fetchers {
        for id in f.await.unwrap() {
            *seen.entry(id).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 60, "every delayed task delivered");
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let counts = producer.counts("default").await.unwrap();
    assert_eq!((counts.delayed, counts.ready, counts.leased), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_fetch_wakes_when_a_delayed_task_is_due() {
    let Some(url) = redis_url("blocking_fetch_wakes_when_a_delayed_task_is_due") else {
        return;
    };
    let store = open(&url, &fresh_namespace()).await;
    // Due in 400 ms, while the fetch may wait 10 s: it must return soon after 400 ms.
    let env = delayed(400);
    store.publish(std::slice::from_ref(&env)).await.unwrap();
    let start = Instant::now();
    let got = store
        .fetch(
            "c",
            &["default".to_string()],
            1,
            Duration::from_secs(30),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let took = start.elapsed();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].task_id(), env.id);
    assert!(
        took >= Duration::from_millis(300),
        "not before its eta: {took:?}"
    );
    assert!(took < Duration::from_millis(900), "woke late: {took:?}");
}
