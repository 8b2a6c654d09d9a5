//! Opt-in throughput check of the Redis broker alone (no children): batch publish and a
//! fetch-ack drain by two consumers. Run with
//! `cargo test -p stem-adapters --features redis --test redis_throughput -- --ignored --nocapture`.

#![cfg(feature = "redis")]

mod redis_support;

use redis_support::{fresh_namespace, open, redis_url};
use std::time::{Duration, Instant};
use stem_protocol::TaskEnvelope;

const TASKS: usize = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark, opt-in"]
async fn publish_and_drain_rates() {
    let Some(url) = redis_url("publish_and_drain_rates") else {
        return;
    };
    let ns = fresh_namespace();
    let store = open(&url, &ns).await;
    let tasks: Vec<_> = (0..TASKS).map(|_| TaskEnvelope::new("noop")).collect();
    let start = Instant::now();
    for chunk in tasks.chunks(1_000) {
        store.publish(chunk).await.unwrap();
    }
    let publish = start.elapsed();
    let start = Instant::now();
    let drains: Vec<_> = (0..2)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let queues = vec!["default".to_string()];
                let mut done = 0;
                loop {
                    let got = store
                        .fetch(
                            &format!("c{n}"),
                            &queues,
                            100,
                            Duration::from_secs(30),
                            Duration::from_millis(100),
                        )
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return done;
                    }
                    store.ack(&got).await.unwrap();
                    done += got.len();
                }
            })
        })
        .collect();
    let mut drained = 0;
    for d in drains {
        drained += d.await.unwrap();
    }
    let drain = start.elapsed().saturating_sub(Duration::from_millis(100));
    assert_eq!(drained, TASKS);
    println!(
        "publish: {:.0} tasks/s (batches of 1000); fetch+ack drain, 2 consumers, batches of 100: {:.0} tasks/s",
        TASKS as f64 / publish.as_secs_f64(),
        TASKS as f64 / drain.as_secs_f64()
    );
}
