//! Runs the adapter contract suite against the SQLite backend, each case on a fresh file.

#![cfg(feature = "sqlite")]

use std::sync::Arc;
use stem_adapters::connect::{ConnectOptions, Store};

async fn fresh_store() -> Option<Arc<dyn Store>> {
    // Each case gets its own file, left under cargo's per-target scratch directory (the store
    // outlives this function, so the directory cannot be removed when it returns).
    let dir = tempfile::Builder::new()
        .prefix("contract-sqlite-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
        .keep();
    let url = format!("sqlite://{}/stem.db", dir.display());
    Some(
        stem_adapters::sqlite::open(&url, &ConnectOptions::default())
            .await
            .expect("open sqlite"),
    )
}

stem_contract::contract_tests!(fresh_store());
