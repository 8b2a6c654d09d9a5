//! Cluster mode's per-slot calls. Each queue is one slot and everything else (records, the
//! queues set, control, flow control) another, so an operation that spans queues or touches a
//! queue and the rest is split: publish is one atomic pipeline per queue (after adding the
//! queues to the queues set); extend, the lease check and commit are one script call per queue,
//! run concurrently. A commit with records is the split-store commit inside one store: leases
//! checked (`lua/held.lua`), records written fenced by generation in the backend's slot, then
//! the actions fenced by lease per queue, with publishes to other queues through the queue's
//! outbox ([`super::outbox`]). Records first, so nothing is acked without its record.

use super::commit::verdict;
use super::receipt::Receipt;
use super::{redis_error, scripts, RedisStore};
use crate::{Action, Commit, Delivery, Result, Verdict};
use futures_util::future::try_join_all;
use std::time::Duration;
use stem_protocol::{TaskEnvelope, TaskRecord};

/// How often one queue's commit call is retried after a transient error before the batch fails.
const COMMIT_RETRIES: u64 = 2;

/// The indexes grouped by queue, queues in order of first appearance.
fn by_queue<'a>(
    indexes: impl Iterator<Item = usize>,
    queue: impl Fn(usize) -> &'a str,
) -> Vec<(&'a str, Vec<usize>)> {
    let mut groups: Vec<(&'a str, Vec<usize>)> = Vec::new();
    for i in indexes {
        let q = queue(i);
        match groups.iter_mut().find(|(g, _)| *g == q) {
            Some((_, members)) => members.push(i),
            None => groups.push((q, vec![i])),
        }
    }
    groups
}

impl RedisStore {
    /// Publish on a cluster: the queues set first (a queue listed before its task arrives is
    /// harmless), then one atomic pipeline per queue (a script call when a task has a fair
    /// key). Atomic per queue, not across queues.
    pub(super) async fn publish_slotted(&self, tasks: &[TaskEnvelope]) -> Result<()> {
        let groups = by_queue(0..tasks.len(), |i| tasks[i].queue.as_str());
        let queues: Vec<&str> = groups.iter().map(|(q, _)| *q).collect();
        redis::cmd("SADD")
            .arg(self.keys.queues())
            .arg(queues)
            .exec_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("publish", e))?;
        try_join_all(groups.iter().map(|(_, members)| async move {
            if members.iter().any(|&i| tasks[i].fair_key.is_some()) {
                let batch: Vec<&TaskEnvelope> = members.iter().map(|&i| &tasks[i]).collect();
                return self.publish_script(&batch).await;
            }
            let mut pipe = redis::pipe();
            pipe.atomic();
            for &i in members {
                self.add_publish(&mut pipe, &tasks[i]);
            }
            pipe.exec_async(&mut self.conn())
                .await
                .map_err(|e| redis_error("publish", e))
        }))
        .await
        .map(drop)
    }

    /// Extend on a cluster: one script call per queue.
    pub(super) async fn extend_slotted(
        &self,
        deliveries: &[Delivery],
        lease: Duration,
    ) -> Result<Vec<String>> {
        let groups = by_queue(0..deliveries.len(), |i| deliveries[i].queue.as_str());
        let lost = try_join_all(groups.iter().map(|(_, members)| {
            let group: Vec<Delivery> = members.iter().map(|&i| deliveries[i].clone()).collect();
            async move { self.extend_one(&group, lease).await }
        }))
        .await?;
        Ok(lost.into_iter().flatten().collect())
    }

    /// Which leases are held, without changing any: per delivery, `+` or `-OWNER`.
    async fn held(&self, deliveries: &[&Delivery]) -> Result<Vec<String>> {
        let groups = by_queue(0..deliveries.len(), |i| deliveries[i].queue.as_str());
        let answers = try_join_all(groups.iter().map(|(queue, members)| async move {
            let mut call = scripts::HELD.prepare_invoke();
            call.arg(self.keys.group());
            for &i in members {
                let r = Receipt::parse(&deliveries[i].receipt)?;
                call.key(self.keys.stream(queue, r.band))
                    .key(self.keys.leases(queue, r.band))
                    .arg(r.id)
                    .arg(r.consumer)
                    .arg(r.deliveries);
            }
            let got: Vec<String> = call
                .invoke_async(&mut self.conn())
                .await
                .map_err(|e| redis_error("check leases", e))?;
            Ok::<_, crate::AdapterError>((members, got))
        }))
        .await?;
        let mut out = vec![String::from("-"); deliveries.len()];
        for (members, got) in answers {
            for (&i, v) in members.iter().zip(got) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// Commit on a cluster (see the module notes).
    pub(super) async fn commit_slotted(
        &self,
        commits: &[Commit],
        records: Option<Duration>,
    ) -> Result<Vec<Verdict>> {
        let mut verdicts: Vec<Option<Verdict>> = vec![None; commits.len()];
        if let Some(ttl) = records {
            let with: Vec<usize> = (0..commits.len())
                .filter(|&i| commits[i].record.is_some())
                .collect();
            let deliveries: Vec<&Delivery> = with.iter().map(|&i| &commits[i].delivery).collect();
            let held = self.held(&deliveries).await?;
            let mut keep = Vec::new();
            for (&i, answer) in with.iter().zip(&held) {
                match verdict(answer) {
                    Verdict::Applied => keep.push(i),
                    stale => verdicts[i] = Some(stale),
                }
            }
            let written: Vec<TaskRecord> = keep
                .iter()
                .filter_map(|&i| commits[i].record.clone())
                .collect();
            let written = self.set_records(&written, ttl).await?;
            for (&i, ok) in keep.iter().zip(written) {
                if !ok {
                    verdicts[i] = Some(Verdict::Stale { owner: None });
                }
            }
        }
        let pending: Vec<usize> = (0..commits.len())
            .filter(|&i| verdicts[i].is_none())
            .collect();
        let mut dead: Vec<&str> = pending
            .iter()
            .filter(|&&i| matches!(commits[i].action, Action::DeadLetter(_)))
            .map(|&i| commits[i].delivery.queue.as_str())
            .collect();
        if !dead.is_empty() {
            dead.sort_unstable();
            dead.dedup();
            redis::cmd("SADD")
                .arg(self.keys.queues())
                .arg(dead)
                .exec_async(&mut self.conn())
                .await
                .map_err(|e| redis_error("commit", e))?;
        }
        let groups = by_queue(pending.into_iter(), |i| commits[i].delivery.queue.as_str());
        let done = try_join_all(groups.iter().map(|(queue, members)| async move {
            let outbox = self.keys.outbox(queue);
            let batch: Vec<&Commit> = members.iter().map(|&i| &commits[i]).collect();
            // A queue whose call failed is retried here, so the batch does not fail (and get
            // retried whole, its applied queues then reading as stale) over one shard's blip.
            let mut attempt = 0;
            let (applied, items) = loop {
                match self.commit_call(&batch, None, Some(&outbox)).await {
                    Err(e) if e.is_transient() && attempt < COMMIT_RETRIES => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                    }
                    other => break other?,
                }
            };
            let send: Vec<_> = applied
                .iter()
                .zip(items)
                .filter(|(v, _)| v.is_applied())
                .flat_map(|(_, items)| items)
                .collect();
            if let Err(e) = self.send_outbox(&outbox, &send).await {
                tracing::warn!("{e}; the outbox of queue {queue:?} is sent by a later sweep");
            }
            Ok::<_, crate::AdapterError>((members, applied))
        }))
        .await?;
        for (members, applied) in done {
            for (&i, v) in members.iter().zip(applied) {
                verdicts[i] = Some(v);
            }
        }
        Ok(verdicts
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect())
    }

    /// Replay on a cluster: the letter leaves its queue's dead letters into that queue's
    /// outbox in one step, then is published to its target queue.
    pub(super) async fn replay_slotted(
        &self,
        queue: &str,
        id: &str,
        envelope: &TaskEnvelope,
    ) -> Result<bool> {
        let outbox = self.keys.outbox(queue);
        let item = self.outbox_item(envelope, envelope.eta);
        let mut call = scripts::REPLAY.prepare_invoke();
        call.key(self.keys.dlq(queue))
            .key(self.keys.dlq_order(queue))
            .key(self.keys.dlq(queue))
            .arg(id)
            .arg("0");
        item.add_to(&mut call, &outbox);
        let replayed: i64 = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("replay dead letter", e))?;
        if replayed != 1 {
            return Ok(false);
        }
        if let Err(e) = self.send_outbox(&outbox, std::slice::from_ref(&item)).await {
            tracing::warn!("{e}; the outbox of queue {queue:?} is sent by a later sweep");
        }
        Ok(true)
    }

    /// Creates the band streams and consumer group of each of `queues`, one call per queue.
    pub(super) async fn ensure_groups_slotted(&self, queues: &[String]) -> Result<()> {
        try_join_all(queues.iter().map(|queue| async move {
            let mut call = scripts::ENSURE_GROUPS.prepare_invoke();
            for key in self.keys.streams_high_first(queue) {
                call.key(key);
            }
            call.arg(self.keys.group());
            call.invoke_async::<i64>(&mut self.conn()).await
        }))
        .await
        .map(drop)
        .map_err(|e| redis_error("creating consumer groups", e))
    }
}
