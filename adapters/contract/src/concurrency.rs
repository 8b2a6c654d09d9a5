//! Contract case for many consumers at once: every task is delivered exactly once.

use crate::util::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;

const TASKS: usize = 200;
const CONSUMERS: usize = 8;

/// Eight consumers drain 200 tasks; each task is delivered to exactly one of them.
pub async fn concurrent_consumers_exactly_once(store: Arc<dyn Store>) {
    let batch: Vec<_> = (0..TASKS).map(|i| task("q", &format!("t{i}"))).collect();
    for chunk in batch.chunks(50) {
        store.publish(chunk).await.expect("publish");
    }
    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(30);
    let workers: Vec<_> = (0..CONSUMERS)
        .map(|n| {
            let store = store.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let name = format!("c{n}");
                loop {
                    let done = seen.lock().unwrap().len() >= TASKS;
                    if done || Instant::now() > deadline {
                        return;
                    }
                    let got = store
                        .fetch(
                            &name,
                            &queues(&["q"]),
                            7,
                            LONG_LEASE,
                            Duration::from_millis(50),
                        )
                        .await
                        .expect("fetch");
                    {
                        let mut seen = seen.lock().unwrap();
                        for id in ids(&got) {
                            *seen.entry(id).or_default() += 1;
                        }
                    }
                    store.ack(&got).await.expect("ack");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("consumer");
    }
    let seen = seen.lock().unwrap();
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "tasks delivered more than once: {twice:?}"
    );
    assert_eq!(
        seen.len(),
        TASKS,
        "every task delivered within the deadline"
    );
    for env in &batch {
        assert!(
            seen.contains_key(&env.id),
            "task {} never delivered",
            env.id
        );
    }
}
