//! SQLite-only behaviour the contract suite cannot reach: several stores (connections) on one
//! file sharing work exactly once, rows written by raw SQL (malformed payloads, writes from a
//! connection that is not a store), namespaces, and persistence across reopening.

#![cfg(feature = "sqlite")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stem_adapters::connect::{ConnectOptions, Store};
use stem_adapters::{DeadLetter, Payload};
use stem_protocol::{now_ms, TaskEnvelope};

const LEASE: Duration = Duration::from_secs(60);

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stem.db");
    (dir, path)
}

async fn open(path: &Path, namespace: &str) -> Arc<dyn Store> {
    let options = ConnectOptions {
        namespace: namespace.to_string(),
    };
    stem_adapters::sqlite::open(&format!("sqlite://{}", path.display()), &options)
        .await
        .expect("open sqlite")
}

fn queue(name: &str) -> Vec<String> {
    vec![name.to_string()]
}

/// Inserts a task row as another program (or an older version) might, bypassing the store.
fn insert_raw(path: &Path, ns: &str, queue: &str, payload: &str) {
    let conn = rusqlite::Connection::open(path).expect("raw open");
    conn.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    conn.execute(
        "INSERT INTO stem_tasks (ns, queue, priority, state, visible_at, deliveries, payload) \
         VALUES (?1, ?2, 0, 0, 0, 0, ?3)",
        rusqlite::params![ns, queue, payload],
    )
    .expect("raw insert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_deliver_each_task_once() {
    const TASKS: usize = 500;
    let (_dir, path) = temp_db();
    let a = open(&path, "stem").await;
    let b = open(&path, "stem").await;
    let batch: Vec<_> = (0..TASKS)
        .map(|i| {
            let mut env = TaskEnvelope::new(format!("t{i}"));
            env.queue = "q".into();
            env
        })
        .collect();
    a.publish(&batch).await.expect("publish 500 in one call");
    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut consumers = Vec::new();
    for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        let seen = seen.clone();
        consumers.push(tokio::spawn(async move {
            let name = format!("c{n}");
            loop {
                let got = store
                    .fetch(&name, &queue("q"), 10, LEASE, Duration::from_millis(100))
                    .await
                    .expect("fetch");
                if got.is_empty() {
                    let done = seen.lock().unwrap().len() >= TASKS;
                    if done || Instant::now() > deadline {
                        return;
                    }
                    continue;
                }
                {
                    let mut seen = seen.lock().unwrap();
                    for d in &got {
                        *seen.entry(d.task_id()).or_default() += 1;
                    }
                }
                store.ack(&got).await.expect("ack");
            }
        }));
    }
    for c in consumers {
        c.await.expect("consumer");
    }
    {
        let seen = seen.lock().unwrap();
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "delivered more than once: {twice:?}");
        assert_eq!(seen.len(), TASKS, "every task delivered");
    }
    let counts = b.counts("q").await.expect("counts");
    assert_eq!(counts.ready + counts.leased + counts.delayed, 0, "drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_row_is_delivered_as_malformed() {
    let (_dir, path) = temp_db();
    let store = open(&path, "stem").await;
    insert_raw(&path, "stem", "q", "{not json");
    insert_raw(&path, "stem", "q", r#"{"id":"x","name":"","created_at":1}"#);
    let mut good = TaskEnvelope::new("fine");
    good.queue = "q".into();
    store
        .publish(std::slice::from_ref(&good))
        .await
        .expect("publish");

    let got = store
        .fetch("c1", &queue("q"), 10, LEASE, Duration::ZERO)
        .await
        .expect("a malformed row must not make fetch fail");
    assert_eq!(
        got.len(),
        3,
        "both malformed rows and the good one are delivered"
    );
    match &got[0].payload {
        Payload::Malformed { raw, reason } => {
            assert_eq!(raw, "{not json");
            assert!(reason.contains("malformed task envelope"), "{reason}");
        }
        other => panic!("expected a malformed payload, got {other:?}"),
    }
    match &got[1].payload {
        Payload::Malformed { reason, .. } => {
            assert!(reason.contains("empty task name"), "{reason}")
        }
        other => panic!("expected a malformed payload, got {other:?}"),
    }
    assert_eq!(got[2].payload, Payload::Task(Box::new(good)));
    assert!(
        got[0].task_id().starts_with("malformed-"),
        "stable id for malformed"
    );

    let letter = DeadLetter {
        id: got[0].task_id(),
        queue: "q".into(),
        envelope: None,
        raw: Some("{not json".into()),
        reason: "malformed envelope".into(),
        error: None,
        sealed_error: None,
        dead_at: now_ms(),
        replay_count: 0,
        replayed_at: None,
    };
    store
        .dead_letter(&got[0], &letter)
        .await
        .expect("dead letter");
    let dead = store.dead_letters("q", 10).await.expect("dead letters");
    assert_eq!(
        dead,
        [letter],
        "the malformed payload is kept in the dead letters"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_fetch_sees_writes_from_another_connection() {
    let (_dir, path) = temp_db();
    let store = open(&path, "stem").await;
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let got = store
                .fetch("c1", &queue("q"), 1, LEASE, Duration::from_secs(10))
                .await
                .expect("fetch");
            (got, start.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut env = TaskEnvelope::new("from-elsewhere");
    env.queue = "q".into();
    // A plain connection: no in-process notification, only `data_version` can wake the waiter.
    let writer = path.clone();
    let json = env.to_json();
    tokio::task::spawn_blocking(move || insert_raw(&writer, "stem", "q", &json))
        .await
        .expect("raw insert");
    let (got, elapsed) = waiter.await.expect("waiter");
    assert_eq!(got.len(), 1, "the waiting fetch gets the task");
    assert_eq!(got[0].payload, Payload::Task(Box::new(env)));
    assert!(elapsed < Duration::from_secs(2), "woke after {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_share_a_file_without_mixing() {
    let (_dir, path) = temp_db();
    let one = open(&path, "one").await;
    let two = open(&path, "two").await;
    one.publish(&[TaskEnvelope::new("a")])
        .await
        .expect("publish");
    assert_eq!(one.counts("default").await.expect("counts").ready, 1);
    assert_eq!(two.counts("default").await.expect("counts").ready, 0);
    assert!(two.queues().await.expect("queues").is_empty());
    let got = two
        .fetch("c", &queue("default"), 10, LEASE, Duration::ZERO)
        .await
        .expect("fetch");
    assert!(got.is_empty(), "another namespace's task is not fetched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_survive_reopening_the_file() {
    let (_dir, path) = temp_db();
    let env = TaskEnvelope::new("durable");
    {
        let store = open(&path, "stem").await;
        store
            .publish(std::slice::from_ref(&env))
            .await
            .expect("publish");
    }
    let store = open(&path, "stem").await;
    let got = store
        .fetch("c", &queue("default"), 10, LEASE, Duration::ZERO)
        .await
        .expect("fetch");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, Payload::Task(Box::new(env)));
}
