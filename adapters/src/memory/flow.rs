//! `FlowControl` in memory: unique locks, pauses, buckets and slots in the store's one state.

use super::MemoryStore;
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
}
