//! `StatsHistory` on SQLite: one row per (minute, counter), added to with an upsert; minutes
//! past the retention are deleted on each add.

use super::clock;
use super::{sql, SqliteStore};
use crate::history::HISTORY_KEEP_MS;
use crate::{MinuteCounts, Result, StatsHistory};
use async_trait::async_trait;
use rusqlite::params;
use std::collections::BTreeMap;

#[async_trait]
impl StatsHistory for SqliteStore {
    async fn add_minute(&self, minute: i64, counts: &BTreeMap<String, u64>) -> Result<()> {
        let counts: Vec<(String, i64)> = counts
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| (k.clone(), i64::try_from(*v).unwrap_or(i64::MAX)))
            .collect();
        self.write(move |conn, ns| {
            let mut add = conn.prepare_cached(sql::STATS_ADD)?;
            for (name, n) in &counts {
                add.execute(params![ns, minute, name, n])?;
            }
            conn.prepare_cached(sql::STATS_PRUNE)?
                .execute(params![ns, clock::now(conn)? - HISTORY_KEEP_MS])?;
            Ok(())
        })
        .await
    }

    async fn minutes(&self, since: i64) -> Result<Vec<MinuteCounts>> {
        self.run(move |conn, ns| {
            let mut stmt = conn.prepare_cached(sql::STATS_LIST)?;
            let rows = stmt
                .query_map(params![ns, since], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out: Vec<MinuteCounts> = Vec::new();
            for (minute, name, n) in rows {
                if out.last().map(|m| m.minute) != Some(minute) {
                    out.push(MinuteCounts {
                        minute,
                        counts: BTreeMap::new(),
                    });
                }
                if let Some(last) = out.last_mut() {
                    last.counts.insert(name, u64::try_from(n).unwrap_or(0));
                }
            }
            Ok(out)
        })
        .await
    }
}
