//! Runs the adapter contract suite against the Postgres backend (`STEM_TEST_POSTGRES_URL`), each
//! case in a fresh schema (namespace `t<uuid>`); skips when the variable is unset.

#![cfg(feature = "postgres")]

use stem_adapters::connect::ConnectOptions;

stem_adapters::contract_tests!(async {
    let Ok(url) = std::env::var("STEM_TEST_POSTGRES_URL") else {
        eprintln!("contract_postgres: STEM_TEST_POSTGRES_URL is not set: skipping");
        return None;
    };
    let options = ConnectOptions {
        namespace: format!("t{}", uuid::Uuid::new_v4().simple()),
    };
    Some(
        stem_adapters::postgres::open(&url, &options)
            .await
            .expect("open the postgres store"),
    )
});
