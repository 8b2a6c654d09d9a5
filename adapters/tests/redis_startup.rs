//! Twenty workers starting at once on a fresh namespace all come up (consumer-group creation
//! tolerates BUSYGROUP) and share the work without duplicates.

#![cfg(feature = "redis")]

mod redis_support;

use redis_support::{fresh_namespace, open, redis_url};
use std::collections::HashMap;
use std::time::Duration;
use stem_protocol::TaskEnvelope;

const WORKERS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_workers_start_at_once() {
    let Some(url) = redis_url("twenty_workers_start_at_once") else {
        return;
    };
    let ns = fresh_namespace();
    let queues = vec!["default".to_string(), "emails".to_string()];
    let starts: Vec<_> = (0..WORKERS)
        .map(|n| {
            let (url, ns, queues) = (url.clone(), ns.clone(), queues.clone());
            tokio::spawn(async move {
                let store = open(&url, &ns).await;
                let name = format!("worker-{n}");
                // The first fetch creates the groups; all twenty race to do it.
                let got = store
                    .fetch(&name, &queues, 5, Duration::from_secs(30), Duration::ZERO)
                    .await
                    .expect("first fetch");
                assert!(got.is_empty());
                (store, name)
            })
        })
        .collect();
    let mut workers = Vec::new();
    for start in starts {
        workers.push(start.await.expect("worker came up"));
    }
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let mut env = TaskEnvelope::new(format!("t{i}"));
            env.queue = queues[i % 2].clone();
            env
        })
        .collect();
    workers[0].0.publish(&tasks).await.unwrap();
    let drains: Vec<_> = workers
        .into_iter()
        .map(|(store, name)| {
            let queues = queues.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let got = store
                        .fetch(
                            &name,
                            &queues,
                            5,
                            Duration::from_secs(30),
                            Duration::from_millis(300),
                        )
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return ids;
                    }
                    store.ack(&got).await.unwrap();
                    ids.extend(got.iter().map(|d| d.task_id()));
                }
            })
        })
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for drain in drains {
        for id in drain.await.unwrap() {
            *seen.entry(id).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), tasks.len(), "every task delivered");
    assert!(seen.values().all(|&n| n == 1), "no task delivered twice");
}
