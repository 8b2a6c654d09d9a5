//! Canvas group state on SQLite: one row per group (size, members joined, completer, first
//! failed member, expiry) and one per member's result, changed inside `BEGIN IMMEDIATE` so
//! concurrent joins from several processes see each other.

use super::clock;
use super::lease::immediate;
use super::{db, sql, SqliteStore};
use crate::{codec, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::time::Duration;

type Row = (u32, u32, Option<u32>, Option<u32>);

fn state(conn: &Connection, ns: &str, id: &str) -> Result<Option<Row>> {
    Ok(conn
        .prepare_cached(sql::GROUP_GET)?
        .query_row(params![ns, id, clock::now(conn)?], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?)
}

/// Starts afresh when the old state expired (its members' rows go with it).
fn renew(conn: &Connection, ns: &str, id: &str, size: u32, ttl: Duration) -> Result<()> {
    let now = clock::now(conn)?;
    if state(conn, ns, id)?.is_none() {
        conn.execute(
            "DELETE FROM stem_group_members WHERE ns = ?1 AND id = ?2",
            params![ns, id],
        )?;
        conn.execute(
            "DELETE FROM stem_groups WHERE ns = ?1 AND id = ?2",
            params![ns, id],
        )?;
    }
    conn.prepare_cached(sql::GROUP_UPSERT)?
        .execute(params![ns, id, size, db::after(now, ttl)])?;
    Ok(())
}

impl SqliteStore {
    pub(super) async fn join(
        &self,
        id: &str,
        index: u32,
        size: u32,
        result: &Value,
        ttl: Duration,
    ) -> Result<bool> {
        let (id, body) = (id.to_string(), codec::encode_member(id, index, result));
        self.write(move |conn, ns| {
            let tx = immediate(conn)?;
            renew(&tx, ns, &id, size, ttl)?;
            let added = tx
                .prepare_cached(sql::GROUP_MEMBER)?
                .execute(params![ns, id, index, body])?;
            if added > 0 {
                tx.execute(
                    "UPDATE stem_groups SET joined = joined + 1 WHERE ns = ?1 AND id = ?2",
                    params![ns, id],
                )?;
            }
            let (size, joined, mut completer, _) =
                state(&tx, ns, &id)?.expect("the group row was just written");
            if completer.is_none() && joined >= size {
                tx.execute(
                    "UPDATE stem_groups SET completer = ?3 WHERE ns = ?1 AND id = ?2",
                    params![ns, id, index],
                )?;
                completer = Some(index);
            }
            tx.commit()?;
            Ok(completer == Some(index))
        })
        .await
    }

    pub(super) async fn fail(
        &self,
        id: &str,
        index: u32,
        size: u32,
        ttl: Duration,
    ) -> Result<bool> {
        let id = id.to_string();
        self.write(move |conn, ns| {
            let tx = immediate(conn)?;
            renew(&tx, ns, &id, size, ttl)?;
            tx.execute(
                "UPDATE stem_groups SET failed_by = ?3 WHERE ns = ?1 AND id = ?2 AND failed_by IS NULL",
                params![ns, id, index],
            )?;
            let (_, _, _, failed_by) = state(&tx, ns, &id)?.expect("the group row was just written");
            tx.commit()?;
            Ok(failed_by == Some(index))
        })
        .await
    }

    pub(super) async fn results(&self, id: &str) -> Result<Option<Vec<Option<Value>>>> {
        let id = id.to_string();
        self.run(move |conn, ns| {
            let Some((size, ..)) = state(conn, ns, &id)? else {
                return Ok(None);
            };
            let mut out = vec![None; size as usize];
            let mut stmt = conn.prepare_cached(sql::GROUP_MEMBERS)?;
            let rows = stmt.query_map(params![ns, id], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (idx, body) = row?;
                if let Some(slot) = out.get_mut(idx as usize) {
                    *slot = Some(codec::decode_member(&id, idx as usize, &body)?);
                }
            }
            Ok(Some(out))
        })
        .await
    }
}
