//! Picks a backend by URL scheme and opens it: `memory://[NAME]`, `sqlite://PATH`,
//! `redis://`/`rediss://`, `redis+cluster://`/`rediss+cluster://` (Redis Cluster),
//! `postgres://`/`postgresql://`. One URL opened twice in a process
//! shares one store, so broker and backend on the same URL share a connection pool.

use crate::{
    AdapterError, Broker, BrokerAdmin, ControlPlane, FlowControl, Result, ResultBackend,
    RevokeStore, ScheduleStore, StatsHistory, WorkflowStore,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The URL schemes `connect` understands.
pub const URL_SCHEMES: &[&str] = &[
    "memory",
    "sqlite",
    "redis",
    "rediss",
    "redis+cluster",
    "rediss+cluster",
    "postgres",
    "postgresql",
];

/// The default when nothing is configured: one SQLite file in the current directory.
pub const DEFAULT_URL: &str = "sqlite://stem.db";

/// Settings shared by every backend.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Prefix of every key, table set or stream (`STEM_NAMESPACE`, default `stem`).
    pub namespace: String,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            namespace: "stem".to_string(),
        }
    }
}

/// Everything one backend provides; each backend module's `open` returns one.
pub trait Store:
    Broker
    + BrokerAdmin
    + ResultBackend
    + RevokeStore
    + ControlPlane
    + ScheduleStore
    + FlowControl
    + StatsHistory
    + WorkflowStore
{
}
impl<
        T: Broker
            + BrokerAdmin
            + ResultBackend
            + RevokeStore
            + ControlPlane
            + ScheduleStore
            + FlowControl
            + StatsHistory
            + WorkflowStore,
    > Store for T
{
}

/// The adapters a worker or a CLI command uses.
#[derive(Clone)]
pub struct Adapters {
    /// The hot path: publish, fetch, extend, commit.
    pub broker: Arc<dyn Broker>,
    /// The broker's admin surface: dead letters, counts, queues.
    pub admin: Arc<dyn BrokerAdmin>,
    pub backend: Arc<dyn ResultBackend>,
    pub revokes: Arc<dyn RevokeStore>,
    /// Travels over the broker's service.
    pub control: Arc<dyn ControlPlane>,
    /// Unique locks, pauses, rate limits and concurrency slots: the broker's store.
    pub flow: Arc<dyn FlowControl>,
    /// Schedules, the beat lock and fire claims (default: the broker's store; see
    /// [`Adapters::with_schedule_store`]).
    pub schedules: Arc<dyn ScheduleStore>,
    /// The fleet's counters per minute (the broker's store).
    pub history: Arc<dyn StatsHistory>,
    /// Durable workflow runs, journals and waiters (the broker's store).
    pub workflows: Arc<dyn WorkflowStore>,
    /// Broker and result backend are one store: a commit writes record and action atomically.
    pub shared: bool,
}

/// Opens the broker, result backend and revoke store (which defaults to the backend's URL); the
/// schedule store is the broker's until [`Adapters::with_schedule_store`] says otherwise.
pub async fn connect(
    broker_url: &str,
    backend_url: &str,
    revoke_url: Option<&str>,
    options: &ConnectOptions,
) -> Result<Adapters> {
    let broker = open(broker_url, options).await?;
    let backend = open(backend_url, options).await?;
    let shared = Arc::ptr_eq(&broker, &backend);
    let revokes = match revoke_url {
        Some(url) => open(url, options).await?,
        None => backend.clone(),
    };
    Ok(Adapters {
        broker: broker.clone(),
        admin: broker.clone(),
        backend,
        revokes,
        control: crate::codec::sealed_control(broker.clone()),
        flow: broker.clone(),
        history: broker.clone(),
        workflows: broker.clone(),
        schedules: broker,
        shared,
    })
}

impl Adapters {
    /// The same adapters with the schedule store at `url` (`None`: the broker's).
    pub async fn with_schedule_store(
        mut self,
        url: Option<&str>,
        options: &ConnectOptions,
    ) -> Result<Adapters> {
        if let Some(url) = url {
            self.schedules = open(url, options).await?;
        }
        Ok(self)
    }
}

type Cache = Mutex<HashMap<(String, String), Arc<dyn Store>>>;

/// Opens (or reuses) the store for `url`.
pub async fn open(url: &str, options: &ConnectOptions) -> Result<Arc<dyn Store>> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (url.to_string(), options.namespace.clone());
    if let Some(store) = cache.lock().expect("cache lock").get(&key) {
        return Ok(store.clone());
    }
    let store = open_uncached(url, options).await?;
    cache
        .lock()
        .expect("cache lock")
        .entry(key)
        .or_insert(store.clone());
    Ok(store)
}

/// Whether `url` names a store this build can open (its form and scheme), without opening it:
/// a URL that can never work is bad configuration, not a store that is down.
pub fn check_url(url: &str) -> Result<()> {
    let scheme = url_scheme(url)?;
    if !URL_SCHEMES.contains(&scheme) {
        return Err(AdapterError::config(format!(
            "unknown URL scheme {scheme:?} in {:?}: expected one of {}",
            crate::redact(url),
            URL_SCHEMES.join(", ")
        )));
    }
    Ok(())
}

fn url_scheme(url: &str) -> Result<&str> {
    url.split_once("://").map(|(s, _)| s).ok_or_else(|| {
        AdapterError::config(format!(
            "invalid URL {:?}: expected SCHEME://..., with SCHEME one of {}",
            crate::redact(url),
            URL_SCHEMES.join(", ")
        ))
    })
}

async fn open_uncached(url: &str, options: &ConnectOptions) -> Result<Arc<dyn Store>> {
    let scheme = url_scheme(url)?;
    match scheme {
        "memory" => Ok(crate::memory::open(url, options)),
        #[cfg(feature = "sqlite")]
        "sqlite" => crate::sqlite::open(url, options).await,
        #[cfg(feature = "redis")]
        "redis" | "rediss" | "redis+cluster" | "rediss+cluster" => {
            crate::redis::open(url, options).await
        }
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => crate::postgres::open(url, options).await,
        s if URL_SCHEMES.contains(&s) => Err(AdapterError::config(format!(
            "URL scheme {s:?} is not compiled into this build (cargo feature missing)"
        ))),
        s => Err(AdapterError::config(format!(
            "unknown URL scheme {s:?} in {:?}: expected one of {}",
            crate::redact(url),
            URL_SCHEMES.join(", ")
        ))),
    }
}
