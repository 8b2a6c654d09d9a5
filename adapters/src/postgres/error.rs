//! Maps tokio-postgres and pool errors to `AdapterError` kinds: anything that says the server or
//! the connection went away (I/O, admin shutdown, "starting up", serialization failures, pool
//! timeouts) is transient, so a Postgres restart under load is retried by callers, not fatal.

use crate::AdapterError;
use deadpool_postgres::PoolError;

/// SQLSTATE classes and codes worth retrying.
fn is_transient_code(code: &str) -> bool {
    matches!(&code[..2.min(code.len())], "08" | "40" | "53" | "57") && code != "57014"
    // query_canceled by a statement timeout is the caller's choice
}

/// Wraps a tokio-postgres error from operation `what`.
pub(crate) fn pg(what: &str, e: tokio_postgres::Error) -> AdapterError {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            let message = format!("postgres {what}: {} ({code})", db.message());
            if is_transient_code(code) {
                AdapterError::transient(message)
            } else {
                AdapterError::permanent(message)
            }
        }
        // A certificate the URL's sslmode refuses will be refused again: a setup problem.
        None if is_tls(&e) => AdapterError::config(format!("postgres {what}: {}", chain(&e))),
        // No server error: the connection broke, could not be made, or timed out.
        None => AdapterError::transient(format!("postgres {what}: {}", chain(&e))),
    }
}

/// The error and its causes, `: `-separated ("error connecting to server: Connection refused").
fn chain(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// Whether the handshake failed (a certificate refused either way, or no TLS on the server).
fn is_tls(e: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return true;
            }
        }
        source = cause.source();
    }
    e.to_string().contains("TLS") // "error performing TLS handshake", "server does not support TLS"
}

/// Wraps an error from taking a connection out of the pool.
pub(crate) fn pool(what: &str, e: PoolError) -> AdapterError {
    match e {
        PoolError::Backend(e) => pg(what, e),
        other => AdapterError::transient(format!("postgres {what}: connection pool: {other}")),
    }
}

/// A receipt or stored row that cannot be read back.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> AdapterError {
    AdapterError::permanent(format!("postgres {what}: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_codes_are_transient() {
        assert!(is_transient_code("57P01")); // admin_shutdown
        assert!(is_transient_code("57P03")); // cannot_connect_now
        assert!(is_transient_code("08006"));
        assert!(is_transient_code("40001"));
        assert!(!is_transient_code("57014"));
        assert!(!is_transient_code("23505"));
    }
}
