//! Postgres seen through `psql`: a URL whose connections carry an `application_name`, so one
//! process's connections can be told apart in `pg_stat_activity`, and which of them hold row
//! locks in an open transaction.

use std::process::Command;

/// `url` with `application_name=NAME`, so this process's connections can be told apart.
pub fn with_application_name(url: &str, name: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={name}")
}

/// Runs `sql` with `psql -At` and returns its output (panics when psql fails).
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-At", url, "-c", sql])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "psql failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The connections named `name` that sit inside a transaction, waiting for their client, after
/// writing to a table of `schema` (`PID last-statement` each): the rows they wrote stay locked
/// until the client goes on.
pub fn locking_transactions(url: &str, name: &str, schema: &str) -> Vec<String> {
    let sql = format!(
        "SELECT DISTINCT a.pid || ' ' || left(a.query, 80) FROM pg_stat_activity a \
         JOIN pg_locks l ON l.pid = a.pid JOIN pg_class c ON c.oid = l.relation \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE a.application_name = '{name}' AND a.state LIKE 'idle in transaction%' \
         AND n.nspname = '{schema}' AND l.mode = 'RowExclusiveLock'"
    );
    psql(url, &sql)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}
