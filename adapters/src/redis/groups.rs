//! Canvas group state on Redis: one hash per group (`{ns}:grp:{id}`) holding each member's
//! result under `m:{index}`, the size, the count joined, the completer and the first failed
//! member, with the results' TTL renewed on every change; each change is one script.

use super::{millis, redis_error, scripts, RedisStore};
use crate::{codec, Result};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

impl RedisStore {
    pub(super) async fn join(
        &self,
        id: &str,
        index: u32,
        size: u32,
        result: &Value,
        ttl: Duration,
    ) -> Result<bool> {
        let mut call = scripts::GROUP_JOIN.prepare_invoke();
        call.key(self.keys.group_state(id))
            .arg(index)
            .arg(size)
            .arg(codec::encode_member(id, index, result))
            .arg(millis(ttl).max(1));
        let got: i64 = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("group join", e))?;
        Ok(got == 1)
    }

    pub(super) async fn fail(
        &self,
        id: &str,
        index: u32,
        size: u32,
        ttl: Duration,
    ) -> Result<bool> {
        let mut call = scripts::GROUP_FAIL.prepare_invoke();
        call.key(self.keys.group_state(id))
            .arg(index)
            .arg(size)
            .arg(millis(ttl).max(1));
        let got: i64 = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("group fail", e))?;
        Ok(got == 1)
    }

    pub(super) async fn results(&self, id: &str) -> Result<Option<Vec<Option<Value>>>> {
        let all: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.keys.group_state(id))
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("group results", e))?;
        let Some(size) = all.get("size").and_then(|s| s.parse::<usize>().ok()) else {
            return Ok(None);
        };
        let mut out = vec![None; size];
        for (k, v) in &all {
            if let Some(i) = k.strip_prefix("m:").and_then(|i| i.parse::<usize>().ok()) {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(codec::decode_member(id, i, v)?);
                }
            }
        }
        Ok(Some(out))
    }
}
