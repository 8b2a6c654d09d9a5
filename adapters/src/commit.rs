//! One commit per outcome. Whatever a delivery ends in — success, failure, a retry, a dead
//! letter, a revoke, a malformed or poison payload, a give-back at shutdown, and the follow-up
//! tasks it triggers — is one [`Commit`]: the record to store and the broker [`Action`], carried
//! by one adapter call and fenced by the delivery's lease.
//!
//! Fencing: a commit whose lease is no longer current (a frozen worker resumed after another
//! took its task over) is rejected whole — no record, no action, no follow-ups — and reported as
//! [`Verdict::Stale`]. Where broker and result backend are one store the record and the action
//! commit atomically in it (a Lua script on Redis, one transaction on SQLite and Postgres). Where
//! they are two stores, [`commit`] checks the leases, writes the records to the backend fenced by
//! their delivery generation (a backend never writes a record over a newer one), then applies the
//! actions fenced by lease: records first, so no task is acknowledged without its record.

use crate::{Adapters, DeadLetter, Delivery, Result};
use std::collections::HashSet;
use std::time::Duration;
use stem_protocol::{TaskEnvelope, TaskRecord};

/// What the broker does with a delivery once its outcome is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Remove it for good.
    Ack,
    /// Put it back: `replacement` (the next attempt) or the same envelope, ready after `delay`.
    Release {
        replacement: Option<Box<TaskEnvelope>>,
        delay: Duration,
    },
    /// Move it to its queue's dead letters.
    DeadLetter(Box<DeadLetter>),
}

/// One outcome of one delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub delivery: Delivery,
    /// The record to store with the action; `None` for an action alone (a give-back).
    pub record: Option<TaskRecord>,
    pub action: Action,
    /// Tasks published with the action, and only if it is applied (canvas follow-ups).
    pub follow_ups: Vec<TaskEnvelope>,
}

impl Commit {
    pub fn new(delivery: Delivery, record: Option<TaskRecord>, action: Action) -> Self {
        Commit {
            delivery,
            record,
            action,
            follow_ups: Vec::new(),
        }
    }
}

/// What became of one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Record and action were applied.
    Applied,
    /// The lease was no longer this delivery's: nothing was applied. `owner` names the consumer
    /// holding the task now, or the worker of the newer record, when the store can tell.
    Stale { owner: Option<String> },
}

impl Verdict {
    pub fn is_applied(&self) -> bool {
        *self == Verdict::Applied
    }
}

/// Commits a batch of outcomes through `adapters`, one verdict per commit, in order. `ttl` is
/// the records' lifetime; `lease` renews the leases that the split-store path checks first.
pub async fn commit(
    adapters: &Adapters,
    commits: &[Commit],
    ttl: Duration,
    lease: Duration,
) -> Result<Vec<Verdict>> {
    if commits.is_empty() {
        return Ok(Vec::new());
    }
    if adapters.shared {
        let mut out = adapters.broker.commit(commits, Some(ttl)).await?;
        name_owners(adapters, commits, &mut out).await;
        return Ok(out);
    }
    // Two stores. Leases first, so a commit known to be stale writes no record at all.
    let deliveries: Vec<Delivery> = commits.iter().map(|c| c.delivery.clone()).collect();
    let lost: HashSet<String> = adapters
        .broker
        .extend(&deliveries, lease)
        .await?
        .into_iter()
        .collect();
    let mut verdicts: Vec<Option<Verdict>> = commits
        .iter()
        .map(|c| {
            lost.contains(&c.delivery.receipt)
                .then_some(Verdict::Stale { owner: None })
        })
        .collect();
    let with_record: Vec<usize> = (0..commits.len())
        .filter(|&i| verdicts[i].is_none() && commits[i].record.is_some())
        .collect();
    let records: Vec<TaskRecord> = with_record
        .iter()
        .filter_map(|&i| commits[i].record.clone())
        .collect();
    let written = adapters.backend.set(&records, ttl).await?;
    for (k, &i) in with_record.iter().enumerate() {
        if !written.get(k).copied().unwrap_or(false) {
            verdicts[i] = Some(Verdict::Stale { owner: None });
        }
    }
    let pending: Vec<usize> = (0..commits.len())
        .filter(|&i| verdicts[i].is_none())
        .collect();
    let actions: Vec<Commit> = pending
        .iter()
        .map(|&i| Commit {
            record: None,
            ..commits[i].clone()
        })
        .collect();
    let applied = adapters.broker.commit(&actions, None).await?;
    for (k, &i) in pending.iter().enumerate() {
        verdicts[i] = Some(
            applied
                .get(k)
                .cloned()
                .unwrap_or(Verdict::Stale { owner: None }),
        );
    }
    let mut out: Vec<Verdict> = verdicts
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    name_owners(adapters, commits, &mut out).await;
    Ok(out)
}

/// Names the newer owner of a stale commit from its record where the broker could not (the
/// task was already committed and is gone from the broker). Best effort, on a rare path.
async fn name_owners(adapters: &Adapters, commits: &[Commit], verdicts: &mut [Verdict]) {
    for (c, v) in commits.iter().zip(verdicts.iter_mut()) {
        if let Verdict::Stale {
            owner: owner @ None,
        } = v
        {
            if let Ok(Some(r)) = adapters.backend.get(&c.delivery.task_id()).await {
                *owner = r.worker;
            }
        }
    }
}

impl Default for Verdict {
    fn default() -> Self {
        Verdict::Stale { owner: None }
    }
}
