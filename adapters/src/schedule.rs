//! The `ScheduleStore` trait: schedules with their fire state, the beat leader lock and the
//! per-fire claims that make each `(schedule id, fire time)` publish once, however many beats run.
//!
//! The lock is a lease with a fencing token: [`acquire_leader`](ScheduleStore::acquire_leader)
//! hands out a token that grows whenever the holder changes, and every claim and state update
//! carries it. A store accepts them only while the token is the latest issued, so a leader that
//! froze past its lease and resumed is refused whole. A claim is also unique by
//! `(schedule id, fire time)`, so even two claimers racing a takeover cannot both win. Computing
//! what is due, catch-up and publishing are the beat's business (`supervisor/src/beat/`), written
//! once on top of these primitives.

use crate::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use stem_protocol::schedule::Schedule;

/// What a beat recorded about a schedule's fires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// The latest fire time claimed or skipped (epoch ms).
    pub last_fire: Option<i64>,
    /// The next fire time the leader computed (epoch ms).
    pub next_fire: Option<i64>,
    /// Fires claimed so far.
    pub run_count: u64,
    /// Why the last fire failed to publish or was dropped; cleared by a good one.
    pub last_error: Option<String>,
    /// How late the last fire was published (ms after its fire time).
    pub drift_ms: Option<i64>,
}

/// A schedule as stored, with its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSchedule {
    pub schedule: Schedule,
    pub state: ScheduleState,
}

/// A fenced change to a schedule's state after a fire (published, failed, skipped):
/// `next_fire` and `last_error` are set as given (`None` clears them), the others only when
/// present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateUpdate {
    /// Raises `last_fire` to this (never lowers it): for fires skipped by catch-up or expiry.
    pub skipped_to: Option<i64>,
    pub next_fire: Option<i64>,
    pub last_error: Option<String>,
    pub drift_ms: Option<i64>,
}

/// The current holder of the beat lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leader {
    pub holder: String,
    pub token: u64,
    /// When the lease runs out unless renewed (epoch ms; the store's clock on Redis).
    pub expires_at: i64,
}

#[async_trait]
pub trait ScheduleStore: Send + Sync + 'static {
    /// Creates or replaces a schedule's definition; its state is kept (new: empty).
    async fn put_schedule(&self, schedule: &Schedule) -> Result<()>;

    async fn get_schedule(&self, id: &str) -> Result<Option<StoredSchedule>>;

    /// Every schedule, by id.
    async fn list_schedules(&self) -> Result<Vec<StoredSchedule>>;

    /// Removes a schedule and its state; whether it existed.
    async fn delete_schedule(&self, id: &str) -> Result<bool>;

    /// Takes or keeps the lock for `holder` for `ttl`: the fencing token while `holder` holds
    /// it (the same token while it keeps it, a larger one on every change of holder), `None`
    /// while another holder's lease runs.
    async fn acquire_leader(&self, holder: &str, ttl: Duration) -> Result<Option<u64>>;

    /// Extends the lease if `holder` still holds it with `token`; whether it did.
    async fn renew_leader(&self, holder: &str, token: u64, ttl: Duration) -> Result<bool>;

    /// Gives the lock up if `holder` holds it with `token`.
    async fn release_leader(&self, holder: &str, token: u64) -> Result<()>;

    /// The lock's holder while its lease runs.
    async fn leader(&self) -> Result<Option<Leader>>;

    /// Claims the fire of `schedule_id` at `fire_time` (epoch ms) for the leader with `token`:
    /// true once per `(schedule_id, fire_time)`, and only while `token` is the latest issued.
    /// A claim raises the schedule's `last_fire` to `fire_time` and counts a run. Claims are
    /// forgotten after `keep`.
    async fn claim_fire(
        &self,
        schedule_id: &str,
        fire_time: i64,
        token: u64,
        keep: Duration,
    ) -> Result<bool>;

    /// Applies `update` to the schedule's state if `token` is the latest issued; whether it did
    /// (false too for an unknown schedule).
    async fn update_state(
        &self,
        schedule_id: &str,
        token: u64,
        update: &StateUpdate,
    ) -> Result<bool>;
}
