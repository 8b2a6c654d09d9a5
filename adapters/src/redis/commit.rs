//! The Redis commit: a batch of outcomes in one call of `lua/commit.lua`, each fenced by its
//! receipt's lease, with its record (when this Redis is also the result backend), its action and
//! its follow-ups. Also the fenced record write (`lua/set_records.lua`) behind `set`. On a
//! Redis Cluster one call covers the commits of one queue (see [`super::slotted`]): no records,
//! and publishes to other queues go to the queue's outbox, returned for the caller to send.

use super::outbox::Item;
use super::receipt::Receipt;
use super::{millis, redis_error, scripts, RedisStore};
use crate::{codec, Action, Commit, Result, Verdict};
use std::time::Duration;
use stem_protocol::{now_ms, TaskRecord};

impl RedisStore {
    pub(super) async fn commit_batch(
        &self,
        commits: &[Commit],
        records: Option<Duration>,
    ) -> Result<Vec<Verdict>> {
        if commits.is_empty() {
            return Ok(Vec::new());
        }
        let verdicts = if self.cluster() {
            self.commit_slotted(commits, records).await?
        } else {
            let all: Vec<&Commit> = commits.iter().collect();
            self.commit_call(&all, records, None).await?.0
        };
        if commits.iter().any(writes_delayed) {
            self.delayed.notify_waiters();
        }
        Ok(verdicts)
    }

    /// One call of the commit script. With `outbox` (cluster mode: every commit is of that
    /// outbox's queue, and `records` is `None`) follow-ups and releases to other queues are left
    /// in the outbox; they are returned per commit, to be sent if it applied.
    pub(super) async fn commit_call(
        &self,
        commits: &[&Commit],
        records: Option<Duration>,
        outbox: Option<&str>,
    ) -> Result<(Vec<Verdict>, Vec<Vec<Item>>)> {
        let mut call = scripts::COMMIT.prepare_invoke();
        match outbox {
            Some(outbox) => call.key(outbox).key(outbox),
            None => call.key(self.keys.queues()).key(self.keys.record_index()),
        };
        call.arg(self.keys.group())
            .arg(records.map(millis).unwrap_or(0))
            .arg(millis(super::backend::TOKEN_TTL))
            .arg(commits.len())
            .arg(if outbox.is_some() { "0" } else { "1" });
        let mut sent = Vec::with_capacity(commits.len());
        for c in commits {
            let mut items = Vec::new();
            let d = &c.delivery;
            let r = Receipt::parse(&d.receipt)?;
            let op = match c.action {
                Action::Ack => "ack",
                Action::Release { .. } => "release",
                Action::DeadLetter(_) => "dead",
            };
            call.arg(op)
                .arg(&r.id)
                .arg(&r.consumer)
                .arg(r.deliveries)
                .key(self.keys.stream(&d.queue, r.band))
                .key(self.keys.leases(&d.queue, r.band));
            match (&c.record, records) {
                (Some(record), Some(_)) => {
                    call.arg("1")
                        .arg(codec::encode_record(record))
                        .arg(if record.state.is_terminal() { "1" } else { "0" })
                        .arg(&record.id)
                        .arg(record.updated_at)
                        .key(self.keys.record(&record.id))
                        .key(self.keys.waker(&record.id));
                }
                _ => {
                    call.arg("0");
                }
            }
            call.arg(c.follow_ups.len());
            for env in &c.follow_ups {
                match outbox {
                    Some(outbox) => {
                        let item = self.outbox_item(env, env.eta);
                        item.add_to(&mut call, outbox);
                        items.push(item);
                    }
                    None => self.placement(env, env.eta).add_to(&mut call),
                }
            }
            match &c.action {
                Action::Ack => {}
                Action::Release { replacement, delay } => {
                    let env = match (replacement.as_deref(), d.task()) {
                        (Some(env), _) | (None, Some(env)) => env,
                        (None, None) => {
                            return Err(crate::AdapterError::permanent(format!(
                            "cannot release malformed delivery {} without a replacement envelope",
                            d.receipt
                        )))
                        }
                    };
                    let due = if delay.is_zero() {
                        env.eta
                    } else {
                        Some(now_ms() + millis(*delay) as i64)
                    };
                    match outbox {
                        Some(outbox) if env.queue != d.queue => {
                            let item = self.outbox_item(env, due);
                            item.add_to(&mut call, outbox);
                            items.push(item);
                        }
                        _ => {
                            let mut place = self.placement(env, due);
                            // Back into its own queue, a keyed task keeps its vt (its turn).
                            if let Some(fair) = place.fair.as_mut() {
                                fair.keep = env.queue == d.queue;
                            }
                            place.add_to(&mut call);
                        }
                    }
                }
                Action::DeadLetter(letter) => {
                    let mut letter = (**letter).clone();
                    letter.queue = d.queue.clone();
                    call.key(self.keys.dlq(&d.queue))
                        .key(self.keys.dlq_order(&d.queue))
                        .key(self.keys.dlq_seq(&d.queue))
                        .arg(&letter.id)
                        .arg(codec::encode_letter(&letter)?)
                        .arg(&d.queue);
                }
            }
            sent.push(items);
        }
        let out: Vec<String> = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("commit", e))?;
        Ok((out.into_iter().map(|v| verdict(&v)).collect(), sent))
    }

    pub(super) async fn set_records(
        &self,
        records: &[TaskRecord],
        ttl: Duration,
    ) -> Result<Vec<bool>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut call = scripts::SET_RECORDS.prepare_invoke();
        call.key(self.keys.record_index())
            .arg(millis(ttl))
            .arg(millis(super::backend::TOKEN_TTL));
        for record in records {
            call.key(self.keys.record(&record.id))
                .key(self.keys.waker(&record.id))
                .arg(codec::encode_record(record))
                .arg(if record.state.is_terminal() { "1" } else { "0" })
                .arg(record.generation)
                .arg(&record.id)
                .arg(record.updated_at);
        }
        let written: Vec<i64> = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("set results", e))?;
        Ok(written.into_iter().map(|w| w == 1).collect())
    }
}

/// A script's `+` (applied) or `-OWNER` (stale, held by OWNER when named).
pub(super) fn verdict(v: &str) -> Verdict {
    match v.strip_prefix('-') {
        None => Verdict::Applied,
        Some(owner) => Verdict::Stale {
            owner: (!owner.is_empty()).then(|| owner.to_string()),
        },
    }
}

/// Whether a commit leaves a delayed entry behind (a release after a delay, a follow-up with
/// an eta), which a blocked fetch of this store should know the due time of.
fn writes_delayed(c: &Commit) -> bool {
    matches!(c.action, crate::commit::Action::Release { delay, .. } if !delay.is_zero())
        || c.follow_ups.iter().any(|t| t.eta.is_some())
}
