//! The Redis backend (`redis://`, `rediss://`, and Redis Cluster: `redis+cluster://`,
//! `rediss+cluster://`): broker on Redis Streams, result backend, revoke store and control
//! plane, all in one [`RedisStore`] on one reconnecting connection.
//!
//! Each queue is ten streams, one per priority (`{ns}:q:{queue}:p0`…`p9`), read by one consumer
//! group per namespace; every `fetch` consumer is a group consumer. A lease is an entry in the
//! group's pending list plus its expiry in a per-stream sorted set (a lease is per delivery, as the
//! fetcher or the last `extend` set it): `extend` moves the expiry and re-claims the entry to the
//! same consumer (XCLAIM JUSTID), and `fetch` takes over entries whose lease expired with XCLAIM,
//! which counts the delivery. Ordering: higher priority first across
//! all the queues of a fetch; within one priority, queues in the order given, and within a queue
//! oldest first (stream order); reclaimed expired leases come before new entries of the same
//! priority. Delayed tasks wait in a sorted set per queue and move to their stream when due,
//! inside the fetch script (exactly once). Every multi-step change is one Lua script (`lua/`).
//! Blocking reads run on dedicated connections ([`blocking`]); everything else shares one
//! multiplexed `ConnectionManager`, which reconnects after a drop (the command in flight fails
//! with a transient error; callers retry). `docs/redis.md` describes the layout for operators.
//!
//! On a Redis Cluster ([`cluster`]) every queue is one slot (a hash tag, see [`keys`]) and all
//! other keys another; the few operations that span queues or touch a queue and the rest at
//! once are split into one call per slot ([`slotted`]), with an outbox per queue for publishes
//! a commit makes to other queues ([`outbox`]).

mod backend;
mod blocking;
mod broker;
mod cluster;
mod commit;
mod conn;
mod control;
mod dead_letters;
mod events;
mod fetch;
mod find;
mod flow;
mod groups;
mod history;
mod keys;
mod outbox;
mod peek;
mod receipt;
mod revoke;
mod schedule;
mod scripts;
mod slotted;
mod tls;
mod wf_fields;
mod workflow;

use crate::connect::{ConnectOptions, Store};
use crate::{AdapterError, Result};
use blocking::{BlockingPool, Source};
use conn::Conn;
use keys::Keys;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::RedisError;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long to wait for a TCP (and TLS) connection before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A failure to connect: TLS failures name the options and what to try; others the endpoint.
fn connect_error(url: &str, tls_summary: &str, e: RedisError) -> AdapterError {
    let text = e.to_string();
    // The cluster client reports only that no seed node could be connected to, not why.
    let no_seed = cluster::is_cluster_url(url) && text.contains("initial connections");
    if no_seed && url.starts_with("rediss") {
        return tls::failure(
            url,
            tls_summary,
            &format!(
                "no seed node accepted the TLS connection (the cluster client does not say \
                 why: most often a server certificate that no trusted CA signed, or a server \
                 that requires a client certificate; {text})"
            ),
        );
    }
    if no_seed {
        return redis_error(
            &format!(
                "connecting to the redis cluster at {}: no seed node answered",
                crate::redact(url)
            ),
            e,
        );
    }
    if url.starts_with("rediss") {
        if tls::is_tls_failure(&text) {
            return tls::failure(url, tls_summary, &text);
        }
        // Connected, then cut off at the first command: what a server that requires a client
        // certificate, or does not trust the one sent, does after a TLS 1.3 handshake.
        if e.kind() == redis::ErrorKind::IoError
            && !text.contains("refused")
            && !text.contains("timed out")
        {
            return tls::failure(
                url,
                tls_summary,
                &format!(
                    "the server closed the connection after the handshake, as servers do when \
                     they require a client certificate or do not trust the one sent ({text})"
                ),
            );
        }
    }
    redis_error(&format!("connecting to redis at {}", crate::redact(url)), e)
}

/// Opens a Redis store for `url` under `options.namespace`.
pub async fn open(url: &str, options: &ConnectOptions) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(RedisStore::open(url, options).await?))
}

/// Broker, result backend, revoke store and control plane on one Redis database.
pub struct RedisStore {
    conn: Conn,
    blocking: BlockingPool,
    keys: Keys,
    /// Queues whose band streams and consumer group are known to exist.
    grouped: Mutex<HashSet<String>>,
    /// Consumers that already fetched once through this store (their pending entries were re-read).
    started: Mutex<HashSet<String>>,
    /// When fetch last looked for pending entries without a lease record.
    last_sweep: Mutex<Instant>,
    /// Told when this store writes a delayed entry (a retry's release, a publish with an eta):
    /// a fetch blocked on the streams wakes to re-read the next due time, so a 200 ms retry is
    /// not held up to the end of a block that started before it was written.
    delayed: tokio::sync::Notify,
}

impl RedisStore {
    pub async fn open(url: &str, options: &ConnectOptions) -> Result<Self> {
        if cluster::is_cluster_url(url) {
            return Self::open_cluster(url, options).await;
        }
        let (client, tls_summary) = tls::client(url, |name| std::env::var(name).ok())?;
        // One plain attempt first, so a wrong address or certificate fails at once instead of
        // after the connection manager's retries.
        let probe = redis::AsyncConnectionConfig::new().set_connection_timeout(CONNECT_TIMEOUT);
        let mut first = client
            .get_multiplexed_async_connection_with_config(&probe)
            .await
            .map_err(|e| connect_error(url, &tls_summary, e))?;
        // A server that refuses the client's certificate (or its absence) after the TLS 1.3
        // handshake only says so at the first command: ask one now.
        redis::cmd("PING")
            .query_async::<String>(&mut first)
            .await
            .map_err(|e| connect_error(url, &tls_summary, e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_number_of_retries(4)
            .set_max_delay(2_000);
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| redis_error("connecting to redis", e))?;
        Ok(Self::with(
            Conn::Single(conn),
            Source::Single(client),
            Keys::new(&options.namespace),
        ))
    }

    /// A store on the Redis Cluster of a `redis+cluster://` URL, in the cluster key layout.
    async fn open_cluster(url: &str, options: &ConnectOptions) -> Result<Self> {
        let keys = Keys::cluster(&options.namespace).map_err(AdapterError::config)?;
        let (client, tls_summary) =
            cluster::client(url, CONNECT_TIMEOUT, |name| std::env::var(name).ok())?;
        let mut conn = client
            .get_async_connection()
            .await
            .map_err(|e| connect_error(url, &tls_summary, e))?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(|e| connect_error(url, &tls_summary, e))?;
        Ok(Self::with(
            Conn::Cluster(conn),
            Source::Cluster(client),
            keys,
        ))
    }

    fn with(conn: Conn, source: Source, keys: Keys) -> Self {
        RedisStore {
            conn,
            blocking: BlockingPool::new(source),
            keys,
            grouped: Mutex::default(),
            started: Mutex::default(),
            last_sweep: Mutex::new(Instant::now()),
            delayed: tokio::sync::Notify::new(),
        }
    }

    /// Whether this store is on a Redis Cluster (cluster key layout, per-slot calls).
    fn cluster(&self) -> bool {
        self.keys.is_cluster()
    }

    /// A handle on the shared connection (cheap to clone; clones share the one connection).
    fn conn(&self) -> Conn {
        self.conn.clone()
    }

    async fn ping_redis(&self) -> Result<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn())
            .await
            .map(drop)
            .map_err(|e| redis_error("PING", e))
    }
}

/// Maps a redis error to an adapter error: connection trouble and a loading or busy server are
/// transient, the rest permanent.
pub(crate) fn redis_error(context: &str, e: RedisError) -> AdapterError {
    let transient = e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(
            e.kind(),
            redis::ErrorKind::BusyLoadingError
                | redis::ErrorKind::TryAgain
                | redis::ErrorKind::MasterDown
                | redis::ErrorKind::ClusterDown
        );
    let message = format!("redis: {context}: {e}");
    if transient {
        AdapterError::transient(message)
    } else {
        AdapterError::permanent(message)
    }
}

/// Whether `e` says a stream or its consumer group is missing (deleted or flushed under us).
pub(crate) fn is_nogroup(e: &RedisError) -> bool {
    let text = e.to_string();
    e.code() == Some("NOGROUP") || text.contains("NOGROUP") || text.contains("no such key")
}

/// Milliseconds as a Redis argument, at least 1 (0 means "forever" to BLOCK and is invalid to PX).
pub(crate) fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}
