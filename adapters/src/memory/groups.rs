//! Canvas group state in memory: members' results by index, the completer and the first failed
//! member, with an expiry.

use super::MemoryStore;
use crate::Result;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Default)]
pub(super) struct Group {
    size: u32,
    results: BTreeMap<u32, Value>,
    completer: Option<u32>,
    failed_by: Option<u32>,
    expires: i64,
}

fn live<'a>(
    groups: &'a mut std::collections::HashMap<String, Group>,
    id: &str,
    size: u32,
    now: i64,
    ttl: Duration,
) -> &'a mut Group {
    if groups.get(id).is_some_and(|g| g.expires <= now) {
        groups.remove(id);
    }
    let g = groups.entry(id.to_string()).or_default();
    g.size = size;
    g.expires = now.saturating_add(ttl.as_millis().min(i64::MAX as u128) as i64);
    g
}

impl MemoryStore {
    pub(super) fn join(
        &self,
        id: &str,
        index: u32,
        size: u32,
        result: &Value,
        ttl: Duration,
    ) -> Result<bool> {
        Ok(self.change(|state, now| {
            let g = live(&mut state.groups, id, size, now, ttl);
            g.results.entry(index).or_insert_with(|| result.clone());
            if g.completer.is_none() && g.results.len() as u32 >= g.size {
                g.completer = Some(index);
            }
            g.completer == Some(index)
        }))
    }

    pub(super) fn fail(&self, id: &str, index: u32, size: u32, ttl: Duration) -> Result<bool> {
        Ok(self.change(|state, now| {
            let g = live(&mut state.groups, id, size, now, ttl);
            *g.failed_by.get_or_insert(index) == index
        }))
    }

    pub(super) fn results(&self, id: &str) -> Result<Option<Vec<Option<Value>>>> {
        let now = stem_protocol::now_ms();
        let state = self.lock();
        Ok(state
            .groups
            .get(id)
            .filter(|g| g.expires > now)
            .map(|g| (0..g.size).map(|i| g.results.get(&i).cloned()).collect()))
    }
}
