//! The in-memory `ResultBackend` and `RevokeStore`: maps with an expiry per entry, filtered on
//! read and pruned now and then on write.

use super::state::State;
use super::MemoryStore;
use crate::{RecordFilter, Result, ResultBackend, Revocation, RevokeStore};
use async_trait::async_trait;
use std::time::Duration;
use stem_protocol::{now_ms, TaskRecord};

/// Expired records are dropped after this many `set` calls.
const PRUNE_EVERY: u32 = 256;

/// Stores `record` unless a newer generation's record is there; true when written.
pub(super) fn put_record(state: &mut State, record: &TaskRecord, ttl: Duration, now: i64) -> bool {
    let newer = state
        .results
        .get(&record.id)
        .is_some_and(|(old, expires)| *expires > now && old.generation > record.generation);
    if newer {
        return false;
    }
    let expires = now.saturating_add(ttl.as_millis().min(i64::MAX as u128) as i64);
    state
        .results
        .insert(record.id.clone(), (record.clone(), expires));
    state.sets_since_prune += 1;
    if state.sets_since_prune >= PRUNE_EVERY {
        state.sets_since_prune = 0;
        state.results.retain(|_, (_, expires)| *expires > now);
    }
    true
}

#[async_trait]
impl ResultBackend for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn set(&self, records: &[TaskRecord], ttl: Duration) -> Result<Vec<bool>> {
        Ok(self.change(|state, now| {
            records
                .iter()
                .map(|r| put_record(state, r, ttl, now))
                .collect()
        }))
    }

    async fn get(&self, id: &str) -> Result<Option<TaskRecord>> {
        let now = now_ms();
        Ok(self
            .lock()
            .results
            .get(id)
            .filter(|(_, expires)| *expires > now)
            .map(|(record, _)| record.clone()))
    }

    async fn group_join(
        &self,
        group: &str,
        index: u32,
        size: u32,
        result: &serde_json::Value,
        ttl: Duration,
    ) -> Result<bool> {
        self.join(group, index, size, result, ttl)
    }

    async fn group_fail(&self, group: &str, index: u32, size: u32, ttl: Duration) -> Result<bool> {
        self.fail(group, index, size, ttl)
    }

    async fn group_results(&self, group: &str) -> Result<Option<Vec<Option<serde_json::Value>>>> {
        self.results(group)
    }

    async fn wait(&self, id: &str, timeout: Duration) -> Result<Option<TaskRecord>> {
        let terminal = self
            .wait_for(timeout, |state, now| {
                let record = state
                    .results
                    .get(id)
                    .filter(|(r, expires)| *expires > now && r.state.is_terminal());
                (record.map(|(r, _)| r.clone()), None)
            })
            .await;
        match terminal {
            Some(record) => Ok(Some(record)),
            None => ResultBackend::get(self, id).await,
        }
    }

    async fn list(&self, filter: &RecordFilter) -> Result<Vec<TaskRecord>> {
        let now = now_ms();
        let mut found: Vec<TaskRecord> = self
            .lock()
            .results
            .values()
            .filter(|(r, expires)| *expires > now && filter.matches(r))
            .map(|(r, _)| r.clone())
            .collect();
        found.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
        found.truncate(filter.limit());
        Ok(found)
    }

    async fn delete_finished(&self, ids: &[String]) -> Result<Vec<String>> {
        Ok(self.change(|state, now| {
            ids.iter()
                .filter(|id| {
                    let finished = state
                        .results
                        .get(id.as_str())
                        .is_some_and(|(r, expires)| *expires > now && r.state.is_terminal());
                    finished && state.results.remove(id.as_str()).is_some()
                })
                .cloned()
                .collect()
        }))
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl RevokeStore for MemoryStore {
    async fn revoke(&self, revocation: &Revocation) -> Result<()> {
        self.change(|state, now| {
            state.revocations.retain(|_, r| r.expires_at > now);
            state
                .revocations
                .insert(revocation.id.clone(), revocation.clone());
        });
        Ok(())
    }

    async fn revocations(&self, since: i64) -> Result<Vec<Revocation>> {
        let now = now_ms();
        let mut found: Vec<Revocation> = self
            .lock()
            .revocations
            .values()
            .filter(|r| r.expires_at > now && r.revoked_at >= since)
            .cloned()
            .collect();
        found.sort_by(|a, b| a.revoked_at.cmp(&b.revoked_at).then(a.id.cmp(&b.id)));
        Ok(found)
    }

    async fn get_revocation(&self, id: &str) -> Result<Option<Revocation>> {
        let now = now_ms();
        Ok(self
            .lock()
            .revocations
            .get(id)
            .filter(|r| r.expires_at > now)
            .cloned())
    }
}
