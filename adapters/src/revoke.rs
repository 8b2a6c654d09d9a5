//! The `RevokeStore` trait: persistent revocations that expire after a TTL, loaded by workers at
//! start and checked before a task runs.

use crate::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revocation {
    pub id: String,
    /// Also stop the task if it is running (TERM to its process group, then KILL).
    pub terminate: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub revoked_at: i64,
    /// The revocation is forgotten after this time (epoch ms).
    pub expires_at: i64,
}

#[async_trait]
pub trait RevokeStore: Send + Sync + 'static {
    /// Stores (or replaces) a revocation.
    async fn revoke(&self, revocation: &Revocation) -> Result<()>;

    /// Unexpired revocations made at or after `since` (epoch ms), oldest first.
    async fn revocations(&self, since: i64) -> Result<Vec<Revocation>>;

    /// The unexpired revocation of `id`, if any.
    async fn get_revocation(&self, id: &str) -> Result<Option<Revocation>>;
}
