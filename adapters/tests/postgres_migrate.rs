//! Postgres migrations against a real server (`STEM_TEST_POSTGRES_URL`; skipped when unset):
//! running them twice is a no-op, and five concurrent runs apply each migration once.

use stem_adapters::postgres;
use stem_adapters::ConnectOptions;

fn url() -> Option<String> {
    let url = std::env::var("STEM_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("skipping: STEM_TEST_POSTGRES_URL is not set");
    }
    url
}

fn fresh_namespace() -> ConnectOptions {
    ConnectOptions {
        namespace: format!("t{}", uuid::Uuid::new_v4().simple()),
    }
}

async fn drop_schema(url: &str, schema: &str) {
    if let Ok((client, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await;
    }
}

#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    let Some(url) = url() else { return };
    let options = fresh_namespace();
    let first = postgres::migrate(&url, &options).await.unwrap();
    assert_eq!(
        first,
        [
            "0001_init",
            "0002_generation",
            "0003_groups",
            "0004_schedules",
            "0005_quiet_publish",
            "0006_flow",
            "0007_stats_minutes",
            "0008_unique_runs",
            "0009_workflows",
            "0010_results_listing",
            "0011_sql_enqueue",
            "0012_fairness",
            "0013_debounce"
        ]
    );
    let second = postgres::migrate(&url, &options).await.unwrap();
    assert!(second.is_empty(), "second run applied {second:?}");
    // `open` on a migrated schema applies nothing and works.
    let store = postgres::open(&url, &options).await.unwrap();
    stem_adapters::Broker::ping(store.as_ref()).await.unwrap();
    drop(store);
    drop_schema(&url, &options.namespace).await;
}

#[tokio::test]
async fn concurrent_migrations_apply_each_once() {
    let Some(url) = url() else { return };
    let options = fresh_namespace();
    let runs: Vec<_> = (0..5)
        .map(|_| {
            let (url, options) = (url.clone(), options.clone());
            tokio::spawn(async move { postgres::migrate(&url, &options).await })
        })
        .collect();
    let mut applied = Vec::new();
    for run in runs {
        applied.extend(run.await.unwrap().unwrap());
    }
    applied.sort();
    assert_eq!(
        applied,
        [
            "0001_init",
            "0002_generation",
            "0003_groups",
            "0004_schedules",
            "0005_quiet_publish",
            "0006_flow",
            "0007_stats_minutes",
            "0008_unique_runs",
            "0009_workflows",
            "0010_results_listing",
            "0011_sql_enqueue",
            "0012_fairness",
            "0013_debounce"
        ]
    );
    drop_schema(&url, &options.namespace).await;
}
