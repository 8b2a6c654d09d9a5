//! The SQLite backend (`sqlite://PATH`, relative, or `sqlite:///abs/path`): the embedded
//! default, so a worker and a producer in two terminals share one file.
//!
//! One connection per store, used from tokio's blocking pool so no async worker thread ever
//! waits on SQLite. The file runs in WAL mode with `synchronous=NORMAL` and a busy timeout.
//! Leases live in the task rows (owner, token, expiry) and are taken inside `BEGIN IMMEDIATE`,
//! so two processes on one file never lease one task twice; a receipt is `ROWID:TOKEN`, so a
//! stale owner's ack, extend or release matches nothing. A fetch over several queues takes them
//! in the order given, highest priority then oldest within each.
//!
//! Waiting (fetch, result wait, control requests and replies, events): SQLite has no
//! cross-process notification, so every store open on one file shares a `Notify`, woken by
//! this process's writes and, on Linux, by an inotify watch on the file and its WAL
//! (`watch.rs`) when another process writes; as the fallback, a waiter polls cheaply: it reads
//! `PRAGMA data_version` (which changes when another connection commits) with a backoff from
//! 5 ms to 50 ms, and retries at once when a delayed task or a lease falls due.

mod backend;
mod broker;
mod clock;
mod commit;
mod control;
mod db;
mod debounce;
mod dlq;
mod fair;
mod flow;
mod groups;
mod history;
mod lease;
mod schedule;
mod sql;
mod wait;
mod watch;
mod wf_ops;
mod wf_rows;
mod workflow;

use crate::connect::{ConnectOptions, Store};
use crate::{AdapterError, Result};
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use stem_protocol::now_ms;
use tokio::sync::Notify;

/// Expired rows are cleaned up at most this often per store.
const CLEANUP_EVERY_MS: i64 = 30_000;
/// Control requests and replies are kept this long.
const CONTROL_KEEP_MS: i64 = 3_600_000;
/// Events kept per namespace.
const MAX_EVENTS: i64 = 10_000;

/// Opens (creating if needed) the SQLite file named by `url`.
pub async fn open(url: &str, options: &ConnectOptions) -> Result<Arc<dyn Store>> {
    let path = parse_url(url)?;
    let namespace = options.namespace.clone();
    let store = tokio::task::spawn_blocking(move || SqliteStore::open_path(&path, namespace))
        .await
        .map_err(|e| AdapterError::transient(format!("opening {url}: {e}")))??;
    Ok(Arc::new(store))
}

/// The file path of a `sqlite://` URL: `sqlite://stem.db` is relative, `sqlite:///x/y.db`
/// absolute, `sqlite://:memory:` a private in-memory database.
pub(crate) fn parse_url(url: &str) -> Result<String> {
    let path = url
        .strip_prefix("sqlite://")
        .ok_or_else(|| AdapterError::config(format!("{url:?} is not a sqlite:// URL")))?;
    if path.is_empty() {
        return Err(AdapterError::config(format!(
            "{url:?} names no file: use sqlite://stem.db or sqlite:///absolute/path.db"
        )));
    }
    Ok(path.to_string())
}

pub(crate) struct Db {
    conn: Mutex<Connection>,
    ns: String,
}

pub(crate) struct SqliteStore {
    db: Arc<Db>,
    changed: Arc<Notify>,
    last_cleanup: AtomicI64,
}

impl SqliteStore {
    fn open_path(path: &str, ns: String) -> Result<Self> {
        let conn = db::connect(path)?;
        let changed = if path == ":memory:" {
            Arc::new(Notify::new())
        } else {
            notifier_for(path)
        };
        Ok(SqliteStore {
            db: Arc::new(Db {
                conn: Mutex::new(conn),
                ns,
            }),
            changed,
            last_cleanup: AtomicI64::new(now_ms()),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn, &db.ns)
        })
        .await
        .map_err(|e| AdapterError::transient(format!("sqlite call did not finish: {e}")))?
    }

    /// Like [`run`](Self::run) for a write: wakes this process's waiters afterwards.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> Result<T> + Send + 'static,
    {
        let out = self.run(f).await;
        self.changed.notify_waiters();
        out
    }

    /// Deletes expired rows now and then; called after writes.
    async fn maybe_cleanup(&self) {
        let now = now_ms();
        let last = self.last_cleanup.load(Ordering::Relaxed);
        if now - last < CLEANUP_EVERY_MS
            || self
                .last_cleanup
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let done = self
            .run(move |conn, ns| {
                let now = clock::now(conn)?;
                cleanup(conn, ns, now)
            })
            .await;
        if let Err(e) = done {
            tracing::debug!(error = %e, "sqlite clean-up skipped");
        }
    }
}

/// Deletes expired results, canvas groups, revocations, heartbeats, unique locks and slots (and
/// buckets idle for an hour) of every namespace, control messages
/// older than an hour, fairness keys at or below their queue's clock, and all but the newest
/// events of `ns`.
fn cleanup(conn: &mut Connection, ns: &str, now: i64) -> Result<()> {
    for stmt in [
        sql::CLEANUP_RESULTS,
        sql::CLEANUP_GROUP_MEMBERS,
        sql::CLEANUP_GROUPS,
        sql::CLEANUP_REVOCATIONS,
        sql::CLEANUP_HEARTBEATS,
        sql::CLEANUP_FLOW_UNIQUES,
        sql::CLEANUP_FLOW_SLOTS,
        sql::CLEANUP_FLOW_BUCKETS,
    ] {
        conn.prepare_cached(stmt)?.execute([now])?;
    }
    for stmt in [sql::CLEANUP_REQUESTS, sql::CLEANUP_REPLIES] {
        conn.prepare_cached(stmt)?
            .execute([now - CONTROL_KEEP_MS])?;
    }
    conn.prepare_cached(sql::EVENT_TRIM)?
        .execute(rusqlite::params![ns, MAX_EVENTS])?;
    fair::prune(conn)?;
    Ok(())
}

/// One `Notify` per file, shared by every store of this process open on it, so a write through
/// one store wakes the waiters of another at once.
fn notifier_for(path: &str) -> Arc<Notify> {
    static NOTIFIERS: OnceLock<Mutex<HashMap<String, Weak<Notify>>>> = OnceLock::new();
    let key = std::fs::canonicalize(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_string());
    let mut map = NOTIFIERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.retain(|_, n| n.strong_count() > 0);
    if let Some(n) = map.get(&key).and_then(Weak::upgrade) {
        return n;
    }
    let n = Arc::new(Notify::new());
    map.insert(key, Arc::downgrade(&n));
    watch::watch(path, &n);
    n
}

/// Milliseconds in `d`, for SQL parameters.
fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(parse_url("sqlite://stem.db").unwrap(), "stem.db");
        assert_eq!(parse_url("sqlite:///tmp/x.db").unwrap(), "/tmp/x.db");
        assert_eq!(parse_url("sqlite://:memory:").unwrap(), ":memory:");
        let err = parse_url("sqlite://").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
    }

    #[test]
    fn cleanup_removes_expired_rows_and_old_events() {
        let mut conn = db::connect(":memory:").unwrap();
        let now = now_ms();
        conn.execute(
            "INSERT INTO stem_results VALUES ('ns', 'old', 'success', '{}', ?1), \
             ('ns', 'new', 'success', '{}', ?2)",
            [now - 1, now + 60_000],
        )
        .unwrap();
        for _ in 0..MAX_EVENTS + 5 {
            conn.execute("INSERT INTO stem_events (ns, body) VALUES ('ns', '{}')", [])
                .unwrap();
        }
        cleanup(&mut conn, "ns", now).unwrap();
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM stem_results"), 1);
        assert_eq!(count("SELECT COUNT(*) FROM stem_events"), MAX_EVENTS);
    }

    #[tokio::test]
    async fn missing_directory_is_a_config_error() {
        let err = open("sqlite:///no/such/dir/x.db", &ConnectOptions::default())
            .await
            .err()
            .expect("must fail");
        assert_eq!(err.kind(), crate::ErrorKind::Config, "{err}");
        assert!(err.to_string().contains("/no/such/dir"), "{err}");
    }
}
