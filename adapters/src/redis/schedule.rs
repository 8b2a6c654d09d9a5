//! `ScheduleStore` for Redis: definitions in one hash, each schedule's state in a hash of its
//! own (so scripts update fields without decoding JSON), the beat lock as a string with a PX
//! lease beside a token counter that only grows, and each claim as a `SET NX PX` key. Claims
//! and state updates are scripts that check the fencing token first (`lua/claim_fire.lua`,
//! `lua/update_state.lua`).

use super::{millis, redis_error, scripts, RedisStore};
use crate::{Leader, Result, ScheduleState, ScheduleStore, StateUpdate, StoredSchedule};
use async_trait::async_trait;
use std::collections::HashMap;
use std::time::Duration;
use stem_protocol::now_ms;
use stem_protocol::schedule::Schedule;

fn state(fields: &HashMap<String, String>) -> ScheduleState {
    let int = |k: &str| fields.get(k).and_then(|v| v.parse::<i64>().ok());
    ScheduleState {
        last_fire: int("last_fire"),
        next_fire: int("next_fire"),
        run_count: int("run_count").unwrap_or(0).max(0) as u64,
        last_error: fields.get("last_error").cloned(),
        drift_ms: int("drift_ms"),
    }
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl RedisStore {
    fn lock_value(token: u64, holder: &str) -> String {
        format!("{token}|{holder}")
    }
}

#[async_trait]
impl ScheduleStore for RedisStore {
    async fn put_schedule(&self, schedule: &Schedule) -> Result<()> {
        let body = crate::codec::encode_schedule(schedule)?;
        redis::cmd("HSET")
            .arg(self.keys.schedules())
            .arg(&schedule.id)
            .arg(body)
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(|e| redis_error("put schedule", e))
    }

    async fn get_schedule(&self, id: &str) -> Result<Option<StoredSchedule>> {
        let (body, fields): (Option<String>, HashMap<String, String>) = redis::pipe()
            .hget(self.keys.schedules(), id)
            .hgetall(self.keys.schedule_state(id))
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("get schedule", e))?;
        body.map(|b| {
            Ok(StoredSchedule {
                schedule: crate::codec::decode_schedule(&b)?,
                state: state(&fields),
            })
        })
        .transpose()
    }

    async fn list_schedules(&self) -> Result<Vec<StoredSchedule>> {
        let all: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.keys.schedules())
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("list schedules", e))?;
        let mut ids: Vec<&String> = all.keys().collect();
        ids.sort();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(self.keys.schedule_state(id));
        }
        let states: Vec<HashMap<String, String>> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("list schedule states", e))?;
        ids.iter()
            .zip(states)
            .map(|(id, fields)| {
                Ok(StoredSchedule {
                    schedule: crate::codec::decode_schedule(&all[*id])?,
                    state: state(&fields),
                })
            })
            .collect()
    }

    async fn delete_schedule(&self, id: &str) -> Result<bool> {
        let (removed, _): (i64, i64) = redis::pipe()
            .atomic()
            .hdel(self.keys.schedules(), id)
            .del(self.keys.schedule_state(id))
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("delete schedule", e))?;
        Ok(removed > 0)
    }

    async fn acquire_leader(&self, holder: &str, ttl: Duration) -> Result<Option<u64>> {
        let mut call = scripts::LEADER_ACQUIRE.prepare_invoke();
        call.key(self.keys.beat_leader())
            .key(self.keys.beat_token())
            .arg(holder)
            .arg(millis(ttl));
        call.invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("acquire beat lock", e))
    }

    async fn renew_leader(&self, holder: &str, token: u64, ttl: Duration) -> Result<bool> {
        let mut call = scripts::LEADER_RENEW.prepare_invoke();
        call.key(self.keys.beat_leader())
            .arg(Self::lock_value(token, holder))
            .arg(millis(ttl));
        let renewed: i64 = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("renew beat lock", e))?;
        Ok(renewed == 1)
    }

    async fn release_leader(&self, holder: &str, token: u64) -> Result<()> {
        let mut call = scripts::LEADER_RELEASE.prepare_invoke();
        call.key(self.keys.beat_leader())
            .arg(Self::lock_value(token, holder));
        call.invoke_async::<i64>(&mut self.conn())
            .await
            .map(drop)
            .map_err(|e| redis_error("release beat lock", e))
    }

    async fn leader(&self) -> Result<Option<Leader>> {
        let (value, pttl): (Option<String>, i64) = redis::pipe()
            .get(self.keys.beat_leader())
            .pttl(self.keys.beat_leader())
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("beat leader", e))?;
        let Some((token, holder)) = value.as_deref().and_then(|v| v.split_once('|')) else {
            return Ok(None);
        };
        Ok(token.parse().ok().filter(|_| pttl > 0).map(|token| Leader {
            holder: holder.to_string(),
            token,
            expires_at: now_ms() + pttl,
        }))
    }

    async fn claim_fire(
        &self,
        schedule_id: &str,
        fire_time: i64,
        token: u64,
        keep: Duration,
    ) -> Result<bool> {
        let mut call = scripts::CLAIM_FIRE.prepare_invoke();
        call.key(self.keys.beat_token())
            .key(self.keys.beat_claim(schedule_id, fire_time))
            .key(self.keys.schedule_state(schedule_id))
            .key(self.keys.schedules())
            .arg(token)
            .arg(millis(keep))
            .arg(fire_time)
            .arg(schedule_id);
        let claimed: i64 = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("claim fire", e))?;
        Ok(claimed == 1)
    }

    async fn update_state(
        &self,
        schedule_id: &str,
        token: u64,
        update: &StateUpdate,
    ) -> Result<bool> {
        let mut call = scripts::UPDATE_STATE.prepare_invoke();
        call.key(self.keys.beat_token())
            .key(self.keys.schedule_state(schedule_id))
            .key(self.keys.schedules())
            .arg(token)
            .arg(schedule_id)
            .arg(opt(update.skipped_to))
            .arg(opt(update.next_fire))
            .arg(if update.last_error.is_some() {
                "1"
            } else {
                "0"
            })
            .arg(update.last_error.as_deref().unwrap_or_default())
            .arg(opt(update.drift_ms));
        let applied: i64 = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("update schedule state", e))?;
        Ok(applied == 1)
    }
}
