//! Adapter errors carry a kind so callers decide: retry a transient one, report a permanent one.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The service is unreachable or busy; trying again later may work.
    Transient,
    /// The request cannot succeed as made (bad data, missing object, unsupported operation).
    Permanent,
    /// The URL or settings are wrong.
    Config,
    /// What the store holds failed its signature, or would not open with the keys: refused by
    /// the reader (someone wrote it without the keys), not retried.
    Refused,
}

#[derive(Debug, Clone, thiserror::Error)]
pub struct AdapterError {
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl AdapterError {
    pub fn transient(message: impl Into<String>) -> Self {
        AdapterError {
            kind: ErrorKind::Transient,
            message: message.into(),
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        AdapterError {
            kind: ErrorKind::Permanent,
            message: message.into(),
        }
    }
    pub fn config(message: impl Into<String>) -> Self {
        AdapterError {
            kind: ErrorKind::Config,
            message: message.into(),
        }
    }
    pub fn refused(message: impl Into<String>) -> Self {
        AdapterError {
            kind: ErrorKind::Refused,
            message: message.into(),
        }
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }
}

pub type Result<T, E = AdapterError> = std::result::Result<T, E>;
