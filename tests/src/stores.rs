//! The stores a scenario runs on, so one scenario is written once for all of them: SQLite (the
//! default world), Redis, Postgres, and a Redis broker with a Postgres result backend. The
//! service ones need their `STEM_TEST_*_URL`; without it the test says it skips.

use crate::{service_url, unique_namespace, Env};

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
