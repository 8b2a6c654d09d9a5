//! `stem beat`: publishes the fires of the schedules in the schedule store, once each, however
//! many beats run.
//!
//! Every tick each beat takes or renews the lock ([`leader`]); only the leader goes on. For
//! every enabled schedule it computes the fires due since the last one ([`due`]), decides which
//! to publish by the schedule's catch-up policy ([`catch_up`]), claims each fire in the store with
//! its fencing token and only then publishes it ([`fire`]); the claim is unique per
//! `(schedule, fire time)` and refused to a stale leader, so a beat that froze past its lease and
//! resumed publishes nothing twice. Store and broker outages are reported ([`outage`]) and
//! retried; a claimed fire whose publish failed is kept and retried until the broker takes it.
//! Time comes from a [`Clock`], so tests drive a beat with a fake one.

pub mod catch_up;
pub mod due;
pub mod fire;
pub mod leader;
pub mod outage;
mod round;

use fire::{Outbox, Routes};
use leader::LeaderLock;
use outage::Outage;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::{Broker, ScheduleStore};

/// Where a beat reads the time (epoch ms).
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        stem_protocol::now_ms()
    }
}

/// How a beat runs.
#[derive(Debug, Clone)]
pub struct BeatConfig {
    /// This beat's name in the lock (unique per process).
    pub holder: String,
    /// The lock's lease; a frozen leader is replaced after it.
    pub lock_ttl: Duration,
    /// How often the beat looks at its schedules.
    pub tick: Duration,
    /// A fire found this late or less is on time; later ones follow the catch-up policy.
    pub grace: Duration,
    /// How long claims are kept.
    pub claim_keep: Duration,
}

impl BeatConfig {
    pub fn new(holder: &str) -> Self {
        BeatConfig {
            holder: holder.to_string(),
            lock_ttl: Duration::from_secs(10),
            tick: Duration::from_millis(250),
            grace: Duration::from_secs(1),
            claim_keep: Duration::from_secs(3600),
        }
    }
}

/// One beat process's state.
pub struct Beat {
    store: Arc<dyn ScheduleStore>,
    broker: Arc<dyn Broker>,
    routes: Routes,
    config: BeatConfig,
    clock: Arc<dyn Clock>,
    leader: LeaderLock,
    outbox: Outbox,
    store_health: Outage,
    broker_health: Outage,
}

impl Beat {
    pub fn new(
        store: Arc<dyn ScheduleStore>,
        broker: Arc<dyn Broker>,
        routes: Routes,
        config: BeatConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Beat {
            leader: LeaderLock::new(&config.holder, config.lock_ttl),
            store,
            broker,
            routes,
            config,
            clock,
            outbox: Outbox::default(),
            store_health: Outage::new("schedule store"),
            broker_health: Outage::new("broker"),
        }
    }

    /// Whether this beat believes it leads.
    pub fn is_leader(&self) -> bool {
        self.leader.token().is_some()
    }

    /// Claimed fires not yet published.
    pub fn unpublished(&self) -> usize {
        self.outbox.len()
    }

    /// Ticks until `shutdown` resolves, then gives the lock up.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tracing::info!(
            holder = self.config.holder,
            lock_ttl = ?self.config.lock_ttl,
            "beat: started"
        );
        tokio::pin!(shutdown);
        loop {
            self.tick().await;
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(self.config.tick) => {}
            }
        }
        if !self.outbox.is_empty() {
            tracing::warn!(
                unpublished = self.outbox.len(),
                "beat: stopping with claimed fires the broker has not taken; they are lost"
            );
        }
        self.leader.release(self.store.as_ref()).await;
        tracing::info!("beat: stopped");
    }
}
