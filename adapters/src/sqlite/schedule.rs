//! The SQLite `ScheduleStore`: a row per schedule (definition as JSON beside its state), the
//! beat lock as one row per namespace, and claims as rows whose primary key is
//! `(schedule, fire time)`. A claim checks the fencing token, inserts and counts the run inside
//! one `BEGIN IMMEDIATE`, so two processes on one file never both win one fire.

use super::{clock, ms, sql, SqliteStore};
use crate::{Leader, Result, ScheduleState, ScheduleStore, StateUpdate, StoredSchedule};
use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use std::time::Duration;
use stem_protocol::schedule::Schedule;

/// A stored schedule from a `schedule_get`/`schedule_list` row (the body still undecoded).
fn row_parts(row: &Row) -> rusqlite::Result<(String, ScheduleState)> {
    Ok((
        row.get(0)?,
        ScheduleState {
            last_fire: row.get(1)?,
            next_fire: row.get(2)?,
            run_count: row.get::<_, i64>(3)?.max(0) as u64,
            last_error: row.get(4)?,
            drift_ms: row.get(5)?,
        },
    ))
}

fn stored((body, state): (String, ScheduleState)) -> Result<StoredSchedule> {
    Ok(StoredSchedule {
        schedule: crate::codec::decode_schedule(&body)?,
        state,
    })
}

fn current_token(conn: &rusqlite::Connection, ns: &str) -> Result<Option<u64>> {
    Ok(conn
        .prepare_cached(sql::LEADER_TOKEN)?
        .query_row([ns], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|t| t as u64))
}

#[async_trait]
impl ScheduleStore for SqliteStore {
    async fn put_schedule(&self, schedule: &Schedule) -> Result<()> {
        let body = crate::codec::encode_schedule(schedule)?;
        let id = schedule.id.clone();
        self.write(move |conn, ns| {
            conn.prepare_cached(sql::SCHEDULE_PUT)?
                .execute(params![ns, id, body])?;
            Ok(())
        })
        .await
    }

    async fn get_schedule(&self, id: &str) -> Result<Option<StoredSchedule>> {
        let id = id.to_string();
        self.run(move |conn, ns| {
            conn.prepare_cached(sql::SCHEDULE_GET)?
                .query_row(params![ns, id], row_parts)
                .optional()?
                .map(stored)
                .transpose()
        })
        .await
    }

    async fn list_schedules(&self) -> Result<Vec<StoredSchedule>> {
        self.run(move |conn, ns| {
            let mut stmt = conn.prepare_cached(sql::SCHEDULE_LIST)?;
            let rows = stmt
                .query_map([ns], row_parts)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(stored).collect()
        })
        .await
    }

    async fn delete_schedule(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write(move |conn, ns| {
            Ok(conn
                .prepare_cached(sql::SCHEDULE_DELETE)?
                .execute(params![ns, id])?
                > 0)
        })
        .await
    }

    async fn acquire_leader(&self, holder: &str, ttl: Duration) -> Result<Option<u64>> {
        let holder = holder.to_string();
        self.write(move |conn, ns| {
            let now = clock::now(conn)?;
            let token: Option<i64> = conn
                .prepare_cached(sql::LEADER_ACQUIRE)?
                .query_row(params![ns, holder, now.saturating_add(ms(ttl)), now], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(token.map(|t| t as u64))
        })
        .await
    }

    async fn renew_leader(&self, holder: &str, token: u64, ttl: Duration) -> Result<bool> {
        let holder = holder.to_string();
        self.write(move |conn, ns| {
            let until = clock::now(conn)?.saturating_add(ms(ttl));
            Ok(conn.prepare_cached(sql::LEADER_RENEW)?.execute(params![
                ns,
                holder,
                token as i64,
                until
            ])? > 0)
        })
        .await
    }

    async fn release_leader(&self, holder: &str, token: u64) -> Result<()> {
        let holder = holder.to_string();
        self.write(move |conn, ns| {
            conn.prepare_cached(sql::LEADER_RELEASE)?
                .execute(params![ns, holder, token as i64])?;
            Ok(())
        })
        .await
    }

    async fn leader(&self) -> Result<Option<Leader>> {
        self.run(move |conn, ns| {
            Ok(conn
                .prepare_cached(sql::LEADER_GET)?
                .query_row(params![ns, clock::now(conn)?], |r| {
                    Ok(Leader {
                        holder: r.get(0)?,
                        token: r.get::<_, i64>(1)? as u64,
                        expires_at: r.get(2)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    async fn claim_fire(
        &self,
        schedule_id: &str,
        fire_time: i64,
        token: u64,
        keep: Duration,
    ) -> Result<bool> {
        let id = schedule_id.to_string();
        self.write(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = clock::advance(&tx)?;
            tx.prepare_cached(sql::CLAIM_PRUNE)?.execute([now])?;
            if current_token(&tx, ns)? != Some(token) {
                return Ok(false);
            }
            let inserted = tx.prepare_cached(sql::CLAIM_INSERT)?.execute(params![
                ns,
                id,
                fire_time,
                token as i64,
                now.saturating_add(ms(keep))
            ])? > 0;
            if inserted {
                tx.prepare_cached(sql::SCHEDULE_FIRED)?
                    .execute(params![ns, id, fire_time])?;
            }
            tx.commit()?;
            Ok(inserted)
        })
        .await
    }

    async fn update_state(
        &self,
        schedule_id: &str,
        token: u64,
        update: &StateUpdate,
    ) -> Result<bool> {
        let id = schedule_id.to_string();
        let u = update.clone();
        self.write(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if current_token(&tx, ns)? != Some(token) {
                return Ok(false);
            }
            let changed = tx.prepare_cached(sql::SCHEDULE_UPDATE)?.execute(params![
                ns,
                id,
                u.skipped_to,
                u.next_fire,
                u.last_error,
                u.drift_ms
            ])? > 0;
            tx.commit()?;
            Ok(changed)
        })
        .await
    }
}
