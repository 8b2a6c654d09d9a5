//! The stores a scenario runs on, so one scenario is written once for all of them: SQLite (the
//! default world), Redis, Postgres, and a Redis broker with a Postgres result backend. The
//! service ones need their `STEM_TEST_*_URL`; without it the test says it skips. A service
//! world removes its namespace when it ends.

use crate::Env;
use std::process::{Command, Stdio};
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

/// A service world removes its namespace when it ends (best effort, through `redis-cli` or
/// `psql`), so repeated runs do not pile up keys or schemas.
impl Drop for Env {
    fn drop(&mut self) {
        let Some(s) = &self.service else { return };
        for url in std::iter::once(&s.broker).chain(s.backend.as_ref()) {
            let script = if url.starts_with("redis") {
                "redis-cli -u \"$1\" --scan --pattern \"$2:*\" | xargs -r redis-cli -u \"$1\" unlink"
            } else if url.starts_with("postgres") {
                "psql -q \"$1\" -c \"DROP SCHEMA IF EXISTS $2 CASCADE\""
            } else {
                continue;
            };
            let _ = Command::new("sh")
                .args(["-c", script, "sh", url, &s.namespace])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
