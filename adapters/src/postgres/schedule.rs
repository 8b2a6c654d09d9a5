//! The `ScheduleStore` on Postgres: a row per schedule, the beat lock as one upserted row, and
//! claims keyed by `(schedule, fire time)`. A claim is one statement: it checks the fencing
//! token, inserts the claim (`ON CONFLICT DO NOTHING`) and counts the run, so concurrent
//! claimers of one fire — even around a takeover — see exactly one win.

use super::{error, millis, PgStore};
use crate::{Leader, Result, ScheduleState, ScheduleStore, StateUpdate, StoredSchedule};
use async_trait::async_trait;
use std::time::Duration;
use stem_protocol::schedule::Schedule;
use tokio_postgres::Row;

fn stored(row: &Row) -> Result<StoredSchedule> {
    let body: String = row.get("body");
    Ok(StoredSchedule {
        schedule: crate::codec::decode_schedule(&body)?,
        state: ScheduleState {
            last_fire: row.get("last_fire"),
            next_fire: row.get("next_fire"),
            run_count: row.get::<_, i64>("run_count").max(0) as u64,
            last_error: row.get("last_error"),
            drift_ms: row.get("drift_ms"),
        },
    })
}

fn token_param(token: u64) -> Result<i64> {
    i64::try_from(token).map_err(|_| error::corrupt("beat lock", "token out of range"))
}

#[async_trait]
impl ScheduleStore for PgStore {
    async fn put_schedule(&self, schedule: &Schedule) -> Result<()> {
        let body = crate::codec::encode_schedule(schedule)?;
        self.execute(
            "put schedule",
            include_str!("sql/schedule_put.sql"),
            &[&schedule.id, &body],
        )
        .await
        .map(drop)
    }

    async fn get_schedule(&self, id: &str) -> Result<Option<StoredSchedule>> {
        let rows = self
            .query("get schedule", include_str!("sql/schedule_get.sql"), &[&id])
            .await?;
        rows.first().map(stored).transpose()
    }

    async fn list_schedules(&self) -> Result<Vec<StoredSchedule>> {
        let rows = self
            .query("list schedules", include_str!("sql/schedule_list.sql"), &[])
            .await?;
        rows.iter().map(stored).collect()
    }

    async fn delete_schedule(&self, id: &str) -> Result<bool> {
        let n = self
            .execute(
                "delete schedule",
                include_str!("sql/schedule_delete.sql"),
                &[&id],
            )
            .await?;
        Ok(n > 0)
    }

    async fn acquire_leader(&self, holder: &str, ttl: Duration) -> Result<Option<u64>> {
        let ttl_ms = millis(ttl);
        let rows = self
            .query(
                "acquire beat lock",
                include_str!("sql/leader_acquire.sql"),
                &[&holder, &ttl_ms],
            )
            .await?;
        Ok(rows.first().map(|r| r.get::<_, i64>("token") as u64))
    }

    async fn renew_leader(&self, holder: &str, token: u64, ttl: Duration) -> Result<bool> {
        let until = millis(ttl);
        let n = self
            .execute(
                "renew beat lock",
                include_str!("sql/leader_renew.sql"),
                &[&holder, &token_param(token)?, &until],
            )
            .await?;
        Ok(n > 0)
    }

    async fn release_leader(&self, holder: &str, token: u64) -> Result<()> {
        self.execute(
            "release beat lock",
            include_str!("sql/leader_release.sql"),
            &[&holder, &token_param(token)?],
        )
        .await
        .map(drop)
    }

    async fn leader(&self) -> Result<Option<Leader>> {
        let rows = self
            .query("beat leader", include_str!("sql/leader_get.sql"), &[])
            .await?;
        Ok(rows.first().map(|r| Leader {
            holder: r.get("holder"),
            token: r.get::<_, i64>("token") as u64,
            expires_at: r.get("expires_at"),
        }))
    }

    async fn claim_fire(
        &self,
        schedule_id: &str,
        fire_time: i64,
        token: u64,
        keep: Duration,
    ) -> Result<bool> {
        let until = millis(keep);
        let rows = self
            .query(
                "claim fire",
                include_str!("sql/claim_fire.sql"),
                &[&schedule_id, &fire_time, &token_param(token)?, &until],
            )
            .await?;
        Ok(rows.first().is_some_and(|r| r.get::<_, i64>("claimed") > 0))
    }

    async fn update_state(
        &self,
        schedule_id: &str,
        token: u64,
        update: &StateUpdate,
    ) -> Result<bool> {
        let n = self
            .execute(
                "update schedule state",
                include_str!("sql/schedule_update.sql"),
                &[
                    &schedule_id,
                    &token_param(token)?,
                    &update.skipped_to,
                    &update.next_fire,
                    &update.last_error,
                    &update.drift_ms,
                ],
            )
            .await?;
        Ok(n > 0)
    }
}
