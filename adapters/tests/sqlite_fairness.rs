//! SQLite fair dequeue beyond the contract: a file made before fairness (no fair columns, the
//! old fetch index) is upgraded on open and keeps its tasks, and key state the clock has
//! passed is pruned.

#![cfg(feature = "sqlite")]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::connect::{ConnectOptions, Store};
use stem_protocol::TaskEnvelope;

const LEASE: Duration = Duration::from_secs(60);

async fn open(path: &Path) -> Arc<dyn Store> {
    let options = ConnectOptions {
        namespace: "ns".to_string(),
    };
    stem_adapters::sqlite::open(&format!("sqlite://{}", path.display()), &options)
        .await
        .expect("open sqlite")
}

fn keyed(key: Option<&str>) -> TaskEnvelope {
    let mut env = TaskEnvelope::new("add");
    env.queue = "q".to_string();
    env.fair_key = key.map(str::to_string);
    env
}

/// The `stem_tasks` table and fetch index as files made before fair dequeue have them.
const OLD_TASKS: &str = "
CREATE TABLE stem_tasks (
    id INTEGER PRIMARY KEY, ns TEXT NOT NULL, queue TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL DEFAULT 0,
    visible_at INTEGER NOT NULL DEFAULT 0, deliveries INTEGER NOT NULL DEFAULT 0,
    token TEXT, owner TEXT, payload TEXT NOT NULL
);
CREATE INDEX stem_tasks_ready ON stem_tasks (ns, queue, state, priority DESC, id);
";

#[tokio::test]
async fn a_file_made_before_fairness_is_upgraded_on_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.db");
    let old = keyed(None);
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch(OLD_TASKS).expect("old schema");
        conn.execute(
            "INSERT INTO stem_tasks (ns, queue, payload) VALUES ('ns', 'q', ?1)",
            [serde_json::to_string(&old).unwrap()],
        )
        .expect("old row");
    }
    let store = open(&path).await;
    store.publish(&[keyed(Some("a"))]).await.expect("publish");
    let got = store
        .fetch("w", &["q".to_string()], 10, LEASE, Duration::ZERO)
        .await
        .expect("fetch");
    assert_eq!(got.len(), 2, "the old task and the new keyed one");
    assert_eq!(got[0].task_id(), old.id, "the unkeyed old task first");
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let old_index: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'stem_tasks_ready'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_index, 0, "the pre-fairness fetch index is dropped");
    drop(store);
    // Opening again changes nothing.
    let _again = open(&path).await;
}

#[tokio::test]
async fn the_fetch_plan_walks_the_fair_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plan.db");
    let _store = open(&path).await;
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let sql = include_str!("../src/sqlite/sql/task_lease.sql");
    let plan: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap()
        .query_map(rusqlite::params!["ns", "q", 10, "t", "w", 0], |r| {
            r.get::<_, String>(3)
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("stem_tasks_fair_ready"), "{plan}");
    assert!(
        !plan.contains("TEMP B-TREE"),
        "no sort of the backlog: {plan}"
    );
}
