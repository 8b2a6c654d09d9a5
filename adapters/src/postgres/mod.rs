//! The Postgres backend (`postgres://`, `postgresql://`): broker, result backend, revoke store
//! and control plane in one store over a deadpool connection pool, in a schema named after the
//! namespace (see `docs/postgres.md`).
//!
//! `open` applies pending migrations (`migrate`), starts one LISTEN connection whose
//! notifications wake idle fetchers and waiters, and a periodic clean-up of expired rows. Every
//! query is a `.sql` file in `sql/`, one statement each, prepared once per connection. Times are
//! epoch milliseconds from the caller's clock, as in the other backends. Migration 10 adds the
//! SQL functions applications enqueue with in their own transaction (`SCHEMA.enqueue`,
//! `enqueue_many`); no Rust code calls them.

mod backend;
mod broker;
mod cleanup;
mod commit;
mod control;
mod dead_letters;
mod error;
mod flow;
mod groups;
mod history;
mod listen;
mod migrate;
mod revoke;
mod schedule;
mod settings;
mod wf_rows;
mod workflow;

use crate::connect::{ConnectOptions, Store};
use crate::Result;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use listen::Signals;
use settings::Settings;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// Connections per store; operations are short, so a few serve many concurrent tasks.
const POOL_SIZE: usize = 16;

/// Opens the store for `url` in `options.namespace`, migrating the schema first.
pub async fn open(url: &str, options: &ConnectOptions) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(PgStore::open(url, options).await?))
}

/// Applies pending migrations for `options.namespace`; returns the names of those applied
/// (empty when the schema is up to date).
pub async fn migrate(url: &str, options: &ConnectOptions) -> Result<Vec<String>> {
    let settings = Settings::parse(url, &options.namespace)?;
    migrate::run(&settings).await
}

/// The one struct behind all four traits.
pub struct PgStore {
    pool: Pool,
    signals: Arc<Signals>,
    /// Background tasks (listener, clean-up), stopped when the store is dropped.
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl PgStore {
    pub async fn open(url: &str, options: &ConnectOptions) -> Result<PgStore> {
        let settings = Settings::parse(url, &options.namespace)?;
        migrate::run(&settings).await?;
        let manager = Manager::from_config(
            settings.config.clone(),
            settings.tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| crate::AdapterError::config(format!("postgres pool: {e}")))?;
        let (signals, mut listening) = Signals::new();
        let listener = listen::spawn(settings, signals.clone());
        // Waits start reliable once LISTEN is in place; if it is slow, waits poll until it is.
        let _ = tokio::time::timeout(Duration::from_secs(5), listening.wait_for(|on| *on)).await;
        let cleanup = cleanup::spawn(pool.clone());
        Ok(PgStore {
            pool,
            signals,
            tasks: vec![listener.abort_handle(), cleanup.abort_handle()],
        })
    }

    async fn client(&self, what: &str) -> Result<deadpool_postgres::Client> {
        self.pool.get().await.map_err(|e| error::pool(what, e))
    }

    /// Runs one prepared statement and returns its rows.
    async fn query(
        &self,
        what: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        let client = self.client(what).await?;
        let statement = client
            .prepare_cached(sql)
            .await
            .map_err(|e| error::pg(what, e))?;
        client
            .query(&statement, params)
            .await
            .map_err(|e| error::pg(what, e))
    }

    /// Runs one prepared statement and returns how many rows it touched.
    async fn execute(&self, what: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let client = self.client(what).await?;
        let statement = client
            .prepare_cached(sql)
            .await
            .map_err(|e| error::pg(what, e))?;
        client
            .execute(&statement, params)
            .await
            .map_err(|e| error::pg(what, e))
    }

    async fn ping_db(&self) -> Result<()> {
        self.query("ping", "SELECT 1", &[]).await.map(|_| ())
    }
}

/// Milliseconds in a duration, saturating.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
