//! Runs the adapter contract suite against the SQLite backend, each case on a fresh file.

#![cfg(feature = "sqlite")]

use std::sync::Arc;
use stem_adapters::connect::{ConnectOptions, Store};

async fn fresh_store() -> Option<Arc<dyn Store>> {
    // The directory lives as long as the test process; each case gets its own file.
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let url = format!("sqlite://{}/stem.db", dir.display());
    Some(
        stem_adapters::sqlite::open(&url, &ConnectOptions::default())
            .await
            .expect("open sqlite"),
    )
}

stem_adapters::contract_tests!(fresh_store());
