//! The stores a scenario runs on, so one scenario is written once for all of them: SQLite (the
//! default world), Redis, Postgres, and a Redis broker with a Postgres result backend. The
//! service ones need their `STEM_TEST_*_URL`; without it the test says it skips.

use crate::Env;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const REDIS: &str = "STEM_TEST_REDIS_URL";
pub const POSTGRES: &str = "STEM_TEST_POSTGRES_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Redis,
    Postgres,
    /// A Redis broker whose records go to a Postgres result backend.
    RedisWithPostgres,
}

/// A world on `store` with `stem.toml` holding `manifest`, or None after saying that `test`
/// skips (its service's URL is unset).
pub fn world(store: Store, manifest: &str, test: &str) -> Option<Env> {
    let ns = unique_namespace();
    Some(match store {
        Store::Sqlite => Env::with_manifest(manifest),
        Store::Redis => Env::with_broker(manifest, &service_url(REDIS, test)?, &ns),
        Store::Postgres => Env::with_broker(manifest, &service_url(POSTGRES, test)?, &ns),
        Store::RedisWithPostgres => {
            let redis = service_url(REDIS, test)?;
            let postgres = service_url(POSTGRES, test)?;
            Env::with_broker(manifest, &redis, &ns).with_backend(&postgres)
        }
    })
}

/// The URL in `var` (`STEM_TEST_REDIS_URL`, `STEM_TEST_POSTGRES_URL`), or None after saying that
/// `test` skips.
pub fn service_url(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_string()),
        _ => {
            eprintln!("{test}: {var} is not set: skipping");
            None
        }
    }
}

/// A namespace no other test (or earlier run) uses: `e2e_` and a unique lowercase suffix, valid
/// as a Redis key prefix and unchanged as a Postgres schema name.
pub fn unique_namespace() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "e2e_{:x}_{:x}_{}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
