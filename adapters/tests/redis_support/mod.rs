//! Shared helpers for the Redis tests: the URL from `STEM_TEST_REDIS_URL` (skipping when unset)
//! and fresh stores under a unique namespace.

#![allow(dead_code)]

use std::sync::Arc;
use stem_adapters::connect::{ConnectOptions, Store};

/// The test Redis URL, or `None` (after saying so) when `STEM_TEST_REDIS_URL` is unset.
pub fn redis_url(test: &str) -> Option<String> {
    match std::env::var("STEM_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("{test}: STEM_TEST_REDIS_URL is not set: skipping");
            None
        }
    }
}

/// A namespace no other test uses.
pub fn fresh_namespace() -> String {
    format!("t{}", uuid::Uuid::new_v4().simple())
}

pub fn options(namespace: &str) -> ConnectOptions {
    ConnectOptions {
        namespace: namespace.to_string(),
    }
}

/// A store on `url` under `namespace`.
pub async fn open(url: &str, namespace: &str) -> Arc<dyn Store> {
    stem_adapters::redis::open(url, &options(namespace))
        .await
        .expect("open redis store")
}

/// A raw connection for poking at Redis directly.
pub async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("raw redis connection")
}
