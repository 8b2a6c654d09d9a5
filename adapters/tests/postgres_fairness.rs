//! Postgres fair dequeue beyond the contract, against a real server (`STEM_TEST_POSTGRES_URL`;
//! skipped when unset): concurrent fetchers on a keyed backlog lease each task once, the fetch
//! stays an index-ordered scan at 100,000 rows, passed key state is pruned, and (printed, not
//! asserted) the fetch time on a deep keyed backlog against an unkeyed one of the same size.

#![cfg(feature = "postgres")]

mod postgres_support;

use postgres_support::Fixture;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;
use stem_adapters::{Action, Commit};
use stem_protocol::TaskEnvelope;

const LEASE: Duration = Duration::from_secs(300);

fn task(key: Option<&str>) -> TaskEnvelope {
    let mut env = TaskEnvelope::new("add");
    env.queue = "q".to_string();
    env.fair_key = key.map(str::to_string);
    env
}

async fn publish(store: &Arc<dyn Store>, key: Option<&str>, n: usize) {
    let tasks: Vec<_> = (0..n).map(|_| task(key)).collect();
    for chunk in tasks.chunks(10_000) {
        store.publish(chunk).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_fetchers_lease_each_keyed_task_once() {
    let Some(fx) = Fixture::new() else { return };
    let (a, b) = (fx.store().await, fx.store().await);
    for key in ["x", "y", "z"] {
        publish(&a, Some(key), 300).await;
    }
    publish(&a, None, 100).await;
    let mut workers = Vec::new();
    for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let got = store
                    .fetch(
                        &format!("w{n}"),
                        &["q".to_string()],
                        7,
                        LEASE,
                        Duration::ZERO,
                    )
                    .await
                    .unwrap();
                if got.is_empty() {
                    return seen;
                }
                seen.extend(got.iter().map(|d| d.task_id()));
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 1000, "every task leased");
    assert_eq!(unique.len(), 1000, "no task leased twice");
    let client = fx.client().await;
    let clock: i64 = client
        .query_one("SELECT vt FROM fair_clocks WHERE queue = 'q'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(clock, 300 * 1_000_000, "the clock is the largest vt leased");
    // Every key's last vt is at the clock now: the clean-up's statement drops them all.
    client
        .execute(include_str!("../src/postgres/sql/cleanup_fair.sql"), &[])
        .await
        .unwrap();
    let left: i64 = client
        .query_one("SELECT count(*) FROM fair_keys", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "passed keys are pruned");
    fx.cleanup().await;
}

/// Median time of `rounds` fetches of 10 (each acked so the next finds the next ones).
async fn fetch_time(store: &Arc<dyn Store>, rounds: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let got = store
            .fetch("w", &["q".to_string()], 10, LEASE, Duration::ZERO)
            .await
            .unwrap();
        times.push(started.elapsed());
        assert_eq!(got.len(), 10);
        let commits: Vec<_> = got
            .into_iter()
            .map(|d| Commit::new(d, None, Action::Ack))
            .collect();
        store.commit(&commits, None).await.unwrap();
    }
    times.sort();
    times[times.len() / 2]
}

/// The fetch plan for queue `q` of the schema the client is on.
async fn fetch_plan(client: &tokio_postgres::Client) -> String {
    let sql = include_str!("../src/postgres/sql/fetch.sql");
    client.batch_execute("BEGIN").await.unwrap();
    let rows = client
        .query(
            &format!("EXPLAIN {sql}"),
            &[&vec!["q".to_string()], &10i64, &"w", &"plan", &60_000i64],
        )
        .await
        .unwrap();
    client.batch_execute("ROLLBACK").await.unwrap();
    rows.iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_time_on_a_deep_keyed_backlog() {
    let Some(keyed) = Fixture::new() else { return };
    let Some(plain) = Fixture::new() else { return };
    let (ks, ps) = (keyed.store().await, plain.store().await);
    publish(&ks, Some("big"), 100_000).await;
    publish(&ks, Some("small"), 100).await;
    publish(&ps, None, 100_100).await;
    let plan = fetch_plan(&keyed.client().await).await;
    println!("fetch plan at 100,100 keyed rows:\n{plan}");
    assert!(
        plan.contains("tasks_fetch"),
        "the fetch walks its index:\n{plan}"
    );
    let lateral = plan
        .split("Subquery Scan")
        .nth(1)
        .unwrap_or(&plan)
        .to_string();
    assert!(
        !lateral.contains("Sort Key: tasks.priority"),
        "no sort of the backlog:\n{plan}"
    );
    // Fairness itself: the small key is served alongside the big one from the start.
    let first = ks
        .fetch("w", &["q".to_string()], 20, LEASE, Duration::ZERO)
        .await
        .unwrap();
    let keys: Vec<_> = first
        .iter()
        .map(|d| d.task().unwrap().fair_key.clone().unwrap())
        .collect();
    assert_eq!(
        keys.iter().filter(|k| *k == "small").count(),
        10,
        "{keys:?}"
    );
    let keyed_time = fetch_time(&ks, 25).await;
    let plain_time = fetch_time(&ps, 25).await;
    println!(
        "fetch of 10, median of 25, at 100,000 + 100 tasks: keyed (two keys) {keyed_time:?}, \
         unkeyed {plain_time:?}"
    );
    keyed.cleanup().await;
    plain.cleanup().await;
}
