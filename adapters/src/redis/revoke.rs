//! `RevokeStore` for Redis: revocations as JSON in a hash, indexed by a sorted set of the time
//! they were made (for `revocations(since)`) and one of their expiry (expired ones are dropped by
//! the listing script and ignored by `get_revocation`).

use super::{redis_error, scripts, RedisStore};
use crate::{AdapterError, Result, Revocation, RevokeStore};
use async_trait::async_trait;
use stem_protocol::now_ms;

fn parse(json: &str) -> Result<Revocation> {
    serde_json::from_str(json).map_err(|e| AdapterError::permanent(format!("revocation: {e}")))
}

#[async_trait]
impl RevokeStore for RedisStore {
    async fn revoke(&self, revocation: &Revocation) -> Result<()> {
        let json = serde_json::to_string(revocation)
            .map_err(|e| AdapterError::permanent(format!("revocation {}: {e}", revocation.id)))?;
        redis::pipe()
            .atomic()
            .hset(self.keys.revoked(), &revocation.id, json)
            .ignore()
            .zadd(
                self.keys.revoked_at(),
                &revocation.id,
                revocation.revoked_at,
            )
            .ignore()
            .zadd(
                self.keys.revoked_exp(),
                &revocation.id,
                revocation.expires_at,
            )
            .ignore()
            .exec_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("revoke", e))
    }

    async fn revocations(&self, since: i64) -> Result<Vec<Revocation>> {
        let now = now_ms();
        let mut call = scripts::REVOCATIONS.prepare_invoke();
        call.key(self.keys.revoked())
            .key(self.keys.revoked_at())
            .key(self.keys.revoked_exp())
            .arg(now)
            .arg(since);
        let raw: Vec<String> = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("revocations", e))?;
        let mut out = raw
            .iter()
            .map(|json| parse(json))
            .collect::<Result<Vec<_>>>()?;
        out.retain(|r| r.expires_at > now);
        Ok(out)
    }

    async fn get_revocation(&self, id: &str) -> Result<Option<Revocation>> {
        let raw: Option<String> = redis::cmd("HGET")
            .arg(self.keys.revoked())
            .arg(id)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("get revocation", e))?;
        let revocation = raw.as_deref().map(parse).transpose()?;
        Ok(revocation.filter(|r| r.expires_at > now_ms()))
    }
}
