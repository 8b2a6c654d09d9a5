//! The Redis commit: a batch of outcomes in one call of `lua/commit.lua`, each fenced by its
//! receipt's lease, with its record (when this Redis is also the result backend), its action and
//! its follow-ups. Also the fenced record write (`lua/set_records.lua`) behind `set`.

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
        let mut call = scripts::COMMIT.prepare_invoke();
        call.key(self.keys.queues())
            .key(self.keys.record_index())
            .arg(self.keys.group())
            .arg(records.map(millis).unwrap_or(0))
            .arg(millis(super::backend::TOKEN_TTL))
            .arg(commits.len());
        for c in commits {
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
                let place = self.placement(env, env.eta);
                call.key(&place.key)
                    .arg(place.mode)
                    .arg(&place.payload)
                    .arg(place.due)
                    .arg(&env.queue);
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
                    let place = self.placement(env, due);
                    call.key(&place.key)
                        .arg(place.mode)
                        .arg(&place.payload)
                        .arg(place.due)
                        .arg(&env.queue);
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
        }
        let out: Vec<String> = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("commit", e))?;
        Ok(out
            .into_iter()
            .map(|v| match v.strip_prefix('-') {
                None => Verdict::Applied,
                Some(owner) => Verdict::Stale {
                    owner: (!owner.is_empty()).then(|| owner.to_string()),
                },
            })
            .collect())
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
