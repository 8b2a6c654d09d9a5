//! Shared set-up for the Postgres tests beyond the contract: the server from
//! `STEM_TEST_POSTGRES_URL` (skipping when unset), a fresh schema (namespace `t<uuid>`) for each
//! fixture, stores and plain connections on it, and the schema dropped at the end.

#![allow(dead_code)]

use std::sync::Arc;
use stem_adapters::connect::Store;
use stem_adapters::{postgres, ConnectOptions};

pub struct Fixture {
    pub url: String,
    pub options: ConnectOptions,
}

impl Fixture {
    /// A fixture with a namespace no other test uses, or `None` (after saying so) when
    /// `STEM_TEST_POSTGRES_URL` is unset.
    pub fn new() -> Option<Fixture> {
        let Ok(url) = std::env::var("STEM_TEST_POSTGRES_URL") else {
            eprintln!("skipping: STEM_TEST_POSTGRES_URL is not set");
            return None;
        };
        let options = ConnectOptions {
            namespace: format!("t{}", uuid::Uuid::new_v4().simple()),
        };
        Some(Fixture { url, options })
    }

    /// A store (its own connection pool) in this fixture's schema.
    pub async fn store(&self) -> Arc<dyn Store> {
        postgres::open(&self.url, &self.options).await.unwrap()
    }

    /// A plain connection to the server, on the default search path.
    pub async fn raw_client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
    }

    /// A plain connection whose search path is this fixture's schema.
    pub async fn client(&self) -> tokio_postgres::Client {
        let client = self.raw_client().await;
        client
            .batch_execute(&format!("SET search_path TO {}", self.options.namespace))
            .await
            .unwrap();
        client
    }

    /// Runs `sql` (one or more statements) on a plain connection.
    pub async fn sql(&self, sql: &str) {
        self.raw_client().await.batch_execute(sql).await.unwrap();
    }

    /// Drops this fixture's schema and all in it.
    pub async fn cleanup(self) {
        self.sql(&format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            self.options.namespace
        ))
        .await;
    }
}
