//! Opening the SQLite file (WAL, `synchronous=NORMAL`, a busy timeout, the schema) and turning
//! SQLite errors into adapter errors: busy and locked are transient, the rest permanent.

use super::sql;
use crate::{AdapterError, Result};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// How long a statement waits for another process's write lock before failing as transient.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl From<rusqlite::Error> for AdapterError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                AdapterError::transient(format!("sqlite is busy: {e}"))
            }
            Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure) => {
                AdapterError::transient(format!("sqlite I/O: {e}"))
            }
            _ => AdapterError::permanent(format!("sqlite: {e}")),
        }
    }
}

/// Opens `path` (or a private in-memory database for `:memory:`) ready for Stem.
pub(super) fn connect(path: &str) -> Result<Connection> {
    let conn = if path == ":memory:" {
        Connection::open_in_memory()
    } else {
        if let Some(dir) = Path::new(path).parent() {
            if !dir.as_os_str().is_empty() && !dir.is_dir() {
                return Err(AdapterError::config(format!(
                    "sqlite://{path}: directory {} does not exist",
                    dir.display()
                )));
            }
        }
        Connection::open(path)
    }
    .map_err(|e| AdapterError::config(format!("cannot open sqlite://{path}: {e}")))?;
    // SQLite opens a file it may not write read-only, and every write then fails: a store
    // that cannot be written is refused here, once, naming the file.
    if conn.is_readonly(rusqlite::DatabaseName::Main)? {
        return Err(AdapterError::config(format!(
            "sqlite://{path}: the file is read-only (check its permissions, attributes and mount); \
             Stem writes to its store"
        )));
    }
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode = switch_to_wal(&conn)?;
    if path != ":memory:" && !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path, mode, "sqlite did not switch to WAL mode");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.set_prepared_statement_cache_capacity(64);
    let mut conn = conn;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(sql::SCHEMA)?;
    add_fair_columns(&tx)?;
    tx.execute_batch(sql::SCHEMA_FAIR)?;
    // Seeds the file's clock on first use, so every process judges times on one clock from
    // the start.
    super::clock::advance(&tx)?;
    tx.commit()?;
    Ok(conn)
}

/// Gives a `stem_tasks` made before fair dequeue its `fair_key` and `fair_vt` columns.
fn add_fair_columns(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    let has: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('stem_tasks') WHERE name = 'fair_vt')",
        [],
        |r| r.get(0),
    )?;
    if !has {
        tx.execute_batch(
            "ALTER TABLE stem_tasks ADD COLUMN fair_key TEXT;
             ALTER TABLE stem_tasks ADD COLUMN fair_vt INTEGER NOT NULL DEFAULT 0;",
        )?;
    }
    Ok(())
}

/// Switches the file to WAL. The switch takes an exclusive lock and SQLite does not run the
/// busy handler for it, so when another process opens the same new file at the same moment we
/// retry here (for up to the busy timeout) instead of failing at once.
fn switch_to_wal(conn: &Connection) -> Result<String> {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        let current: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        if current.eq_ignore_ascii_case("wal") {
            return Ok(current);
        }
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        }) {
            Ok(mode) => return Ok(mode),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// SQLite's counter of commits by other connections: a change means another process (or
/// another store on the same file) wrote something.
pub(super) fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |row| row.get(0))?)
}

/// Epoch ms `d` from now, saturating.
pub(super) fn after(now: i64, d: Duration) -> i64 {
    now.saturating_add(d.as_millis().min(i64::MAX as u128) as i64)
}
