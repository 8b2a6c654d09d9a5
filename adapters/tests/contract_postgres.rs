//! Runs the adapter contract suite against the Postgres backend (`STEM_TEST_POSTGRES_URL`), each
//! case in a fresh schema (namespace `t<uuid>`); skips when the variable is unset. The first case
//! to start drops test schemas left by runs over an hour old, so the database does not fill up.

#![cfg(feature = "postgres")]

use std::sync::atomic::{AtomicBool, Ordering};
use stem_adapters::connect::ConnectOptions;

static SWEPT: AtomicBool = AtomicBool::new(false);

/// Drops `t<32 hex>` schemas whose migrations were applied over an hour ago.
async fn sweep_old_test_schemas(url: &str) {
    let Ok((client, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await else {
        return;
    };
    tokio::spawn(conn);
    let Ok(rows) = client
        .query(
            "SELECT nspname FROM pg_namespace WHERE nspname ~ '^t[0-9a-f]{32}$'",
            &[],
        )
        .await
    else {
        return;
    };
    for row in rows {
        let schema: String = row.get(0);
        let old = client
            .query_opt(
                &format!(
                    "SELECT 1 FROM {schema}.schema_migrations \
                     WHERE applied_at < now() - interval '1 hour' LIMIT 1"
                ),
                &[],
            )
            .await;
        if let Ok(Some(_)) = old {
            let _ = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .await;
        }
    }
}

stem_contract::contract_tests!(async {
    let Ok(url) = std::env::var("STEM_TEST_POSTGRES_URL") else {
        eprintln!("contract_postgres: STEM_TEST_POSTGRES_URL is not set: skipping");
        return None;
    };
    if !SWEPT.swap(true, Ordering::SeqCst) {
        sweep_old_test_schemas(&url).await;
    }
    let options = ConnectOptions {
        namespace: format!("t{}", uuid::Uuid::new_v4().simple()),
    };
    Some(
        stem_adapters::postgres::open(&url, &options)
            .await
            .expect("open the postgres store"),
    )
});
