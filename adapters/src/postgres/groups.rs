//! Canvas group state on Postgres: a row per group, locked by each change so concurrent joins
//! serialize, and a row per member's result (`sql/group_*.sql`, migration 3).

use super::{millis, PgStore};
use crate::{codec, Result};
use serde_json::Value;
use std::time::Duration;
use stem_protocol::now_ms;

impl PgStore {
    pub(super) async fn join(
        &self,
        id: &str,
        index: u32,
        size: u32,
        result: &Value,
        ttl: Duration,
    ) -> Result<bool> {
        let body = codec::encode_member(id, index, result);
        let now = now_ms();
        let expires = now.saturating_add(millis(ttl));
        let (index, size) = (index as i32, size as i32);
        let rows = self
            .query(
                "group join",
                include_str!("sql/group_join.sql"),
                &[&id, &index, &size, &body, &expires],
            )
            .await?;
        Ok(rows
            .first()
            .and_then(|r| r.get::<_, Option<i32>>("completer"))
            == Some(index))
    }

    pub(super) async fn fail(
        &self,
        id: &str,
        index: u32,
        size: u32,
        ttl: Duration,
    ) -> Result<bool> {
        let expires = now_ms().saturating_add(millis(ttl));
        let (index, size) = (index as i32, size as i32);
        let rows = self
            .query(
                "group fail",
                include_str!("sql/group_fail.sql"),
                &[&id, &index, &size, &expires],
            )
            .await?;
        Ok(rows
            .first()
            .and_then(|r| r.get::<_, Option<i32>>("failed_by"))
            == Some(index))
    }

    pub(super) async fn results(&self, id: &str) -> Result<Option<Vec<Option<Value>>>> {
        let rows = self
            .query(
                "group results",
                include_str!("sql/group_results.sql"),
                &[&id, &now_ms()],
            )
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let size = first.get::<_, i32>("size").max(0) as usize;
        let mut out = vec![None; size];
        for row in &rows {
            let (Some(idx), Some(body)) = (
                row.get::<_, Option<i32>>("idx"),
                row.get::<_, Option<String>>("result"),
            ) else {
                continue;
            };
            if let Some(slot) = out.get_mut(idx.max(0) as usize) {
                *slot = Some(codec::decode_member(id, idx.max(0) as usize, &body)?);
            }
        }
        Ok(Some(out))
    }
}
