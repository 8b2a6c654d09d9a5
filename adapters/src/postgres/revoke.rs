//! The `RevokeStore` on Postgres: one row per revoked task id with its expiry; expired rows
//! are filtered on read and deleted by the periodic clean-up.

use super::PgStore;
use crate::{Result, Revocation, RevokeStore};
use async_trait::async_trait;
use stem_protocol::now_ms;
use tokio_postgres::Row;

fn revocation(row: &Row) -> Revocation {
    Revocation {
        id: row.get("id"),
        terminate: row.get("terminate"),
        reason: row.get("reason"),
        revoked_at: row.get("revoked_at"),
        expires_at: row.get("expires_at"),
    }
}

#[async_trait]
impl RevokeStore for PgStore {
    async fn revoke(&self, r: &Revocation) -> Result<()> {
        self.execute(
            "revoke",
            include_str!("sql/revoke.sql"),
            &[&r.id, &r.terminate, &r.reason, &r.revoked_at, &r.expires_at],
        )
        .await
        .map(|_| ())
    }

    async fn revocations(&self, since: i64) -> Result<Vec<Revocation>> {
        let rows = self
            .query(
                "revocations",
                include_str!("sql/revocations.sql"),
                &[&since, &now_ms()],
            )
            .await?;
        Ok(rows.iter().map(revocation).collect())
    }

    async fn get_revocation(&self, id: &str) -> Result<Option<Revocation>> {
        let rows = self
            .query(
                "get revocation",
                include_str!("sql/get_revocation.sql"),
                &[&id, &now_ms()],
            )
            .await?;
        Ok(rows.first().map(revocation))
    }
}
