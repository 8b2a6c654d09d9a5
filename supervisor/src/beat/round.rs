//! One tick of a beat: publish what is left in the outbox, keep or take the lock, and as leader
//! claim and publish each schedule's due fires.

use super::catch_up::{self, Plan};
use super::due::{latest_due, next_after};
use super::fire::{envelope, Pending};
use super::leader::Change;
use super::Beat;
use stem_adapters::{StateUpdate, StoredSchedule};
use stem_protocol::schedule::{format_time, CatchUp};

/// Due fires looked at per schedule and tick when the policy is not `all`.
const WINDOW: usize = 32;

/// Whether the tick goes on to the next schedule.
enum Next {
    Continue,
    Stop,
}

impl Beat {
    /// One round; never fails: problems are reported and retried next tick.
    pub async fn tick(&mut self) {
        self.flush_outbox().await;
        match self.leader.ensure(self.store.as_ref()).await {
            Ok(Some(Change::Gained(token))) => {
                tracing::info!(token, holder = self.leader.holder(), "beat: leading");
            }
            Ok(Some(Change::Lost)) => {
                tracing::warn!(
                    holder = self.leader.holder(),
                    "beat: lost the lock; following"
                );
            }
            Ok(None) => {}
            Err(e) => return self.store_health.down(&e),
        }
        let Some(token) = self.leader.token() else {
            self.store_health.up();
            return;
        };
        let schedules = match self.store.list_schedules().await {
            Ok(s) => s,
            Err(e) => return self.store_health.down(&e),
        };
        self.store_health.up();
        let now = self.clock.now_ms();
        for s in schedules.iter().filter(|s| s.schedule.enabled) {
            if let Next::Stop = self.fire_schedule(s, token, now).await {
                break;
            }
        }
    }

    /// Publishes claimed fires the broker refused before, oldest first.
    async fn flush_outbox(&mut self) {
        while let Some(p) = self.outbox.front() {
            match self.broker.publish(std::slice::from_ref(&p.envelope)).await {
                Ok(()) => {
                    self.broker_health.up();
                    let p = self.outbox.pop().expect("front exists");
                    tracing::info!(
                        schedule = p.schedule_id,
                        fire_time = format_time(p.fire_time),
                        task_id = p.envelope.id,
                        "beat: fired (after a retry)"
                    );
                    let drift = self.clock.now_ms() - p.fire_time;
                    self.record(&p.schedule_id, None, None, Some(drift)).await;
                }
                Err(e) => return self.broker_health.down(&e),
            }
        }
    }

    async fn fire_schedule(&mut self, s: &StoredSchedule, token: u64, now: i64) -> Next {
        let schedule = &s.schedule;
        let after = s
            .state
            .last_fire
            .unwrap_or(i64::MIN)
            .max(schedule.since - 1);
        let n = match schedule.catch_up {
            CatchUp::All => schedule.max_catch_up as usize,
            _ => WINDOW,
        };
        let (due, more) = match latest_due(&schedule.spec, schedule.since, after, now, n) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(schedule = schedule.id, error = %e, "beat: cannot compute fires");
                return Next::Continue;
            }
        };
        let grace = self.config.grace.as_millis() as i64;
        let Plan {
            fire,
            skip_to,
            skipped,
        } = catch_up::plan(&due, more, schedule.catch_up, now, grace);
        if skipped > 0 {
            tracing::info!(
                schedule = schedule.id,
                skipped,
                catch_up = ?schedule.catch_up,
                "beat: missed fires skipped by the catch-up policy"
            );
        }
        let next = next_after(&schedule.spec, schedule.since, now)
            .ok()
            .flatten();
        for fire_time in fire {
            if let Some(expires) = schedule.expires_ms {
                if now - fire_time > expires as i64 {
                    let why = format!(
                        "fire at {} dropped: not published within its expiry",
                        format_time(fire_time)
                    );
                    tracing::warn!(schedule = schedule.id, "beat: {why}");
                    self.skip(&schedule.id, token, fire_time, next, Some(why))
                        .await;
                    continue;
                }
            }
            let queue = match self.routes.queue(schedule) {
                Ok(q) => q,
                Err(why) => {
                    tracing::warn!("beat: {why}");
                    self.skip(&schedule.id, token, fire_time, next, Some(why))
                        .await;
                    continue;
                }
            };
            match self
                .store
                .claim_fire(&schedule.id, fire_time, token, self.config.claim_keep)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    // Claimed already, or our token is stale: check the lock before going on.
                    self.leader.doubt();
                    return Next::Stop;
                }
                Err(e) => {
                    self.store_health.down(&e);
                    return Next::Stop;
                }
            }
            let env = envelope(schedule, fire_time, queue, rand::random::<f64>());
            match self.broker.publish(std::slice::from_ref(&env)).await {
                Ok(()) => {
                    self.broker_health.up();
                    tracing::info!(
                        schedule = schedule.id,
                        fire_time = format_time(fire_time),
                        task_id = env.id,
                        "beat: fired"
                    );
                    let drift = self.clock.now_ms() - fire_time;
                    self.record(&schedule.id, next, None, Some(drift)).await;
                }
                Err(e) => {
                    self.broker_health.down(&e);
                    let why = format!("publish failed (retrying): {e}");
                    self.record(&schedule.id, next, Some(why), None).await;
                    self.outbox.push(Pending {
                        schedule_id: schedule.id.clone(),
                        fire_time,
                        envelope: env,
                    });
                }
            }
        }
        if let Some(to) = skip_to {
            self.skip(&schedule.id, token, to, next, None).await;
        }
        Next::Continue
    }

    /// Moves `last_fire` past a fire that is not published.
    async fn skip(
        &mut self,
        id: &str,
        token: u64,
        to: i64,
        next: Option<i64>,
        why: Option<String>,
    ) {
        let update = StateUpdate {
            skipped_to: Some(to),
            next_fire: next,
            last_error: why,
            drift_ms: None,
        };
        if let Err(e) = self.store.update_state(id, token, &update).await {
            self.store_health.down(&e);
        }
    }

    /// Records a fire's outcome (best effort: the claim already counted it).
    async fn record(
        &mut self,
        id: &str,
        next: Option<i64>,
        error: Option<String>,
        drift: Option<i64>,
    ) {
        let Some(token) = self.leader.token() else {
            return;
        };
        let update = StateUpdate {
            skipped_to: None,
            next_fire: next,
            last_error: error,
            drift_ms: drift,
        };
        if let Err(e) = self.store.update_state(id, token, &update).await {
            self.store_health.down(&e);
        }
    }
}
