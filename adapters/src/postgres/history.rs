//! `StatsHistory` on Postgres: one row per (minute, counter), added to by one upsert statement
//! that also drops the minutes past the retention.

use super::PgStore;
use crate::history::HISTORY_KEEP_MS;
use crate::{MinuteCounts, Result, StatsHistory};
use async_trait::async_trait;
use std::collections::BTreeMap;
use stem_protocol::now_ms;

#[async_trait]
impl StatsHistory for PgStore {
    async fn add_minute(&self, minute: i64, counts: &BTreeMap<String, u64>) -> Result<()> {
        let (names, values): (Vec<String>, Vec<i64>) = counts
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| (k.clone(), i64::try_from(*v).unwrap_or(i64::MAX)))
            .unzip();
        let oldest = now_ms() - HISTORY_KEEP_MS;
        self.execute(
            "add minute",
            include_str!("sql/stats_add.sql"),
            &[&minute, &names, &values, &oldest],
        )
        .await
        .map(|_| ())
    }

    async fn minutes(&self, since: i64) -> Result<Vec<MinuteCounts>> {
        let rows = self
            .query("minutes", include_str!("sql/stats_list.sql"), &[&since])
            .await?;
        let mut out: Vec<MinuteCounts> = Vec::new();
        for row in rows {
            let minute: i64 = row.get("minute");
            if out.last().map(|m| m.minute) != Some(minute) {
                out.push(MinuteCounts {
                    minute,
                    counts: BTreeMap::new(),
                });
            }
            let n: i64 = row.get("count");
            if let Some(last) = out.last_mut() {
                last.counts
                    .insert(row.get("name"), u64::try_from(n).unwrap_or(0));
            }
        }
        Ok(out)
    }
}
