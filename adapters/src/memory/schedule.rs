//! The in-memory `ScheduleStore`: schedules in a sorted map, the beat lock as one record with
//! its expiry, claims in a map pruned of expired entries on every claim.

use super::MemoryStore;
use crate::{Leader, Result, ScheduleState, ScheduleStore, StateUpdate, StoredSchedule};
use async_trait::async_trait;
use std::time::Duration;
use stem_protocol::schedule::Schedule;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl ScheduleStore for MemoryStore {
    async fn put_schedule(&self, schedule: &Schedule) -> Result<()> {
        self.change(|state, _| {
            let entry = state
                .schedules
                .entry(schedule.id.clone())
                .or_insert_with(|| StoredSchedule {
                    schedule: schedule.clone(),
                    state: ScheduleState::default(),
                });
            entry.schedule = schedule.clone();
        });
        Ok(())
    }

    async fn get_schedule(&self, id: &str) -> Result<Option<StoredSchedule>> {
        Ok(self.lock().schedules.get(id).cloned())
    }

    async fn list_schedules(&self) -> Result<Vec<StoredSchedule>> {
        Ok(self.lock().schedules.values().cloned().collect())
    }

    async fn delete_schedule(&self, id: &str) -> Result<bool> {
        Ok(self.change(|state, _| state.schedules.remove(id).is_some()))
    }

    async fn acquire_leader(&self, holder: &str, ttl: Duration) -> Result<Option<u64>> {
        Ok(self.change(|state, now| {
            let expires_at = now.saturating_add(ms(ttl));
            match &mut state.leader {
                Some(l) if l.holder == holder => {
                    l.expires_at = expires_at;
                    Some(l.token)
                }
                Some(l) if l.expires_at > now => None,
                _ => {
                    state.last_token += 1;
                    state.leader = Some(Leader {
                        holder: holder.to_string(),
                        token: state.last_token,
                        expires_at,
                    });
                    Some(state.last_token)
                }
            }
        }))
    }

    async fn renew_leader(&self, holder: &str, token: u64, ttl: Duration) -> Result<bool> {
        Ok(self.change(|state, now| match &mut state.leader {
            Some(l) if l.holder == holder && l.token == token => {
                l.expires_at = now.saturating_add(ms(ttl));
                true
            }
            _ => false,
        }))
    }

    async fn release_leader(&self, holder: &str, token: u64) -> Result<()> {
        self.change(|state, _| {
            if let Some(l) = &mut state.leader {
                if l.holder == holder && l.token == token {
                    // Kept with its token so the next holder's is larger; only the lease ends.
                    l.holder = String::new();
                    l.expires_at = 0;
                }
            }
        });
        Ok(())
    }

    async fn leader(&self) -> Result<Option<Leader>> {
        let now = stem_protocol::now_ms();
        Ok(self
            .lock()
            .leader
            .clone()
            .filter(|l| l.expires_at > now && !l.holder.is_empty()))
    }

    async fn claim_fire(
        &self,
        schedule_id: &str,
        fire_time: i64,
        token: u64,
        keep: Duration,
    ) -> Result<bool> {
        Ok(self.change(|state, now| {
            state.claims.retain(|_, expires| *expires > now);
            if token != state.last_token {
                return false;
            }
            let key = (schedule_id.to_string(), fire_time);
            if state.claims.contains_key(&key) {
                return false;
            }
            state.claims.insert(key, now.saturating_add(ms(keep)));
            if let Some(s) = state.schedules.get_mut(schedule_id) {
                s.state.last_fire = Some(s.state.last_fire.map_or(fire_time, |l| l.max(fire_time)));
                s.state.run_count += 1;
            }
            true
        }))
    }

    async fn update_state(
        &self,
        schedule_id: &str,
        token: u64,
        update: &StateUpdate,
    ) -> Result<bool> {
        Ok(self.change(|state, _| {
            if token != state.last_token {
                return false;
            }
            let Some(s) = state.schedules.get_mut(schedule_id) else {
                return false;
            };
            if let Some(to) = update.skipped_to {
                s.state.last_fire = Some(s.state.last_fire.map_or(to, |l| l.max(to)));
            }
            s.state.next_fire = update.next_fire;
            s.state.last_error = update.last_error.clone();
            if update.drift_ms.is_some() {
                s.state.drift_ms = update.drift_ms;
            }
            true
        }))
    }
}
