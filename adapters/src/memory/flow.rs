//! `FlowControl` in memory: unique locks, pauses, buckets and slots in the store's one state.

use super::MemoryStore;
use crate::debounce::{due_of, joins, take_step, Burst, DebouncePut, DebounceTake};
use crate::flow::{bucket_step, FlowControl};
use crate::Result;
use async_trait::async_trait;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// The flow-control part of the in-memory state.
#[derive(Default)]
pub(crate) struct Flow {
    /// Unique locks: key → (holder, expiry ms).
    uniques: HashMap<String, (String, i64)>,
    paused: BTreeSet<String>,
    /// Token buckets: key → (tokens, updated ms).
    buckets: HashMap<String, (f64, i64)>,
    /// Slots: key → holder → expiry ms.
    slots: HashMap<String, HashMap<String, i64>>,
    /// Debounce bursts by run id, and each key's open burst.
    bursts: HashMap<String, Burst>,
    open_bursts: HashMap<String, String>,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl FlowControl for MemoryStore {
    async fn claim_unique(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
        stale: Option<&str>,
    ) -> Result<Option<String>> {
        Ok(self.change(|s, now| match s.flow.uniques.get(key) {
            Some((other, until))
                if *until > now && other != holder && Some(other.as_str()) != stale =>
            {
                Some(other.clone())
            }
            _ => {
                let until = now.saturating_add(ms(ttl));
                s.flow.uniques.insert(key.into(), (holder.into(), until));
                None
            }
        }))
    }

    async fn release_unique(&self, key: &str, holder: &str) -> Result<bool> {
        Ok(self.change(|s, _| match s.flow.uniques.get(key) {
            Some((h, _)) if h == holder => s.flow.uniques.remove(key).is_some(),
            _ => false,
        }))
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        self.change(|s, _| {
            if paused {
                s.flow.paused.insert(queue.into());
            } else {
                s.flow.paused.remove(queue);
            }
        });
        Ok(())
    }

    async fn paused_queues(&self) -> Result<Vec<String>> {
        Ok(self.lock().flow.paused.iter().cloned().collect())
    }

    async fn take_token(
        &self,
        bucket: &str,
        per_second: f64,
        burst: u32,
    ) -> Result<Option<Duration>> {
        let now = stem_protocol::now_ms();
        let mut state = self.lock();
        let (next, verdict) = bucket_step(
            state.flow.buckets.get(bucket).copied(),
            now,
            per_second,
            burst,
        );
        state.flow.buckets.insert(bucket.into(), next);
        Ok(verdict)
    }

    async fn take_slot(&self, key: &str, max: u32, holder: &str, lease: Duration) -> Result<bool> {
        let now = stem_protocol::now_ms();
        let mut state = self.lock();
        let holders = state.flow.slots.entry(key.into()).or_default();
        holders.retain(|_, until| *until > now);
        if holders.contains_key(holder) || holders.len() < max as usize {
            holders.insert(holder.into(), now.saturating_add(ms(lease)));
            return Ok(true);
        }
        Ok(false)
    }

    async fn release_slot(&self, key: &str, holder: &str) -> Result<()> {
        if let Some(holders) = self.lock().flow.slots.get_mut(key) {
            holders.remove(holder);
        }
        Ok(())
    }

    async fn debounce_put(
        &self,
        key: &str,
        id: &str,
        payload: &str,
        window: Duration,
        max_wait: Option<Duration>,
    ) -> Result<DebouncePut> {
        Ok(self.change(|s, now| {
            let f = &mut s.flow;
            let open = f.open_bursts.get(key).cloned();
            if let Some(run) = open {
                if let Some(b) = f.bursts.get_mut(&run).filter(|b| joins(b, now)) {
                    b.payload = payload.into();
                    b.due = due_of(now, b.first_at, window, max_wait);
                    return DebouncePut {
                        id: run,
                        due: b.due,
                        first: false,
                    };
                }
                if let Some(b) = f.bursts.get_mut(&run) {
                    b.open = false;
                }
            }
            let due = due_of(now, now, window, max_wait);
            let burst = Burst {
                key: key.into(),
                payload: payload.into(),
                due,
                first_at: now,
                open: true,
                taken_at: 0,
            };
            f.bursts.insert(id.into(), burst);
            f.open_bursts.insert(key.into(), id.into());
            DebouncePut {
                id: id.into(),
                due,
                first: true,
            }
        }))
    }

    async fn debounce_take(&self, key: &str, id: &str) -> Result<DebounceTake> {
        Ok(self.change(|s, now| {
            let f = &mut s.flow;
            let Some(b) = f.bursts.get(id).filter(|b| b.key == key) else {
                return DebounceTake::Gone;
            };
            let (answer, after) = take_step(b, now);
            if let Some(after) = after {
                if f.open_bursts.get(key).is_some_and(|open| open == id) {
                    f.open_bursts.remove(key);
                }
                f.bursts.insert(id.into(), after);
            }
            answer
        }))
    }

    async fn debounce_done(&self, key: &str, id: &str) -> Result<()> {
        self.change(|s, _| {
            let f = &mut s.flow;
            if f.bursts.get(id).is_some_and(|b| b.key == key) {
                f.bursts.remove(id);
                if f.open_bursts.get(key).is_some_and(|open| open == id) {
                    f.open_bursts.remove(key);
                }
            }
        });
        Ok(())
    }
}
