//! The `FlowControl` trait: state every producer and worker shares to shape the flow of tasks,
//! kept in the broker's store so it holds across the fleet and across restarts:
//! - unique locks (`--id`, `unique_for`, `--unique-key`): one holder per key until released or
//!   expired, or taken over from a holder whose run has a final record ([`claim_run`]);
//! - persisted queue pauses, seen by every worker, including those started later;
//! - token buckets (`rate_limit`): `per_second` tokens a second up to `burst`;
//! - counted slots (`max_concurrency`): at most `max` holders per key, each until its lease
//!   ends, so a dead worker's slot comes back by itself;
//! - debounce bursts (`debounce`): enqueues of one key within a window become one run of the
//!   latest arguments (the design is in [`crate::debounce`]).
//!
//! Times are the store's clock where it has one (Redis `TIME`, Postgres `now()`).

use crate::debounce::{DebouncePut, DebounceTake};
use crate::{Result, ResultBackend};
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
pub trait FlowControl: Send + Sync + 'static {
    /// Takes the unique lock `key` for `holder` for `ttl`, in one atomic step. `None` when taken:
    /// it was free, expired, already held by `holder` (then renewed) or held by `stale` (a holder
    /// the caller found finished: of many claimers replacing one stale holder, one wins);
    /// `Some(other)` when a live lock of `other` holds it.
    async fn claim_unique(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
        stale: Option<&str>,
    ) -> Result<Option<String>>;

    /// Releases `key` if `holder` holds it; says whether it did. A holder names one run, so a
    /// finished run's release never frees the lock of the run that took it over.
    async fn release_unique(&self, key: &str, holder: &str) -> Result<bool>;

    /// Pauses (`true`) or resumes a queue for every worker.
    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()>;

    /// The paused queues, sorted.
    async fn paused_queues(&self) -> Result<Vec<String>>;

    /// Takes one token from `bucket` (refilled at `per_second`, holding at most `burst`, full
    /// when first used). `None` when taken; `Some(wait)` when empty: a token is there after `wait`.
    async fn take_token(
        &self,
        bucket: &str,
        per_second: f64,
        burst: u32,
    ) -> Result<Option<Duration>>;

    /// Takes (or renews) a slot of `key` for `holder` until `lease` from now, if fewer than
    /// `max` live holders have one; says whether `holder` holds one now.
    async fn take_slot(&self, key: &str, max: u32, holder: &str, lease: Duration) -> Result<bool>;

    /// Gives `holder`'s slot of `key` back (a no-op when it holds none).
    async fn release_slot(&self, key: &str, holder: &str) -> Result<()>;

    /// One enqueue of debounce `key` (task id `id`, encoded envelope `payload`), in one atomic
    /// step: it joins the key's open burst when that one is not due yet (the burst keeps this
    /// payload, its due moves to `min(now + window, first + max_wait)`), else opens a new burst
    /// of `id` due `now + window`. See [`crate::debounce`].
    async fn debounce_put(
        &self,
        key: &str,
        id: &str,
        payload: &str,
        window: Duration,
        max_wait: Option<Duration>,
    ) -> Result<DebouncePut>;

    /// Asked before the burst `id` of `key` runs: `Wait(due)` while it is open and not due;
    /// once due, closes it (later enqueues open a new burst) and hands its latest payload, as
    /// often as asked until [`FlowControl::debounce_done`]; `Gone` when there is no such burst.
    async fn debounce_take(&self, key: &str, id: &str) -> Result<DebounceTake>;

    /// Forgets the burst `id` of `key` (its run's final outcome is committed).
    async fn debounce_done(&self, key: &str, id: &str) -> Result<()>;
}

/// The task id of a run holder (`TASK_ID#NONCE`).
pub fn run_task_id(holder: &str) -> &str {
    holder.rsplit_once('#').map_or(holder, |(id, _)| id)
}

/// Takes the lock `key` of a task's run for `holder` (`TASK_ID#NONCE`, also the `run` of that
/// run's records). A lock whose run has a final record (its `run` naming that holder; an earlier
/// run's final record does not count) is stale: it is taken over atomically, so of producers
/// racing to replace it one wins. `None` when taken; `Some(other)` when the live run `other`
/// holds it.
pub async fn claim_run(
    flow: &dyn FlowControl,
    records: &dyn ResultBackend,
    key: &str,
    holder: &str,
    ttl: Duration,
) -> Result<Option<String>> {
    let mut stale: Option<String> = None;
    for _ in 0..4 {
        let Some(other) = flow
            .claim_unique(key, holder, ttl, stale.as_deref())
            .await?
        else {
            return Ok(None);
        };
        let finished = records
            .get(run_task_id(&other))
            .await?
            .is_some_and(|r| r.state.is_terminal() && r.run.as_deref() == Some(other.as_str()));
        if !finished {
            return Ok(Some(other));
        }
        stale = Some(other);
    }
    // Lost every take-over to other claimers: a run newer than the stale one holds the lock.
    flow.claim_unique(key, holder, ttl, None).await
}

/// The token-bucket step every backend without a scripting language shares: from the bucket's
/// `tokens` at `updated_ms` (or a full bucket), the new state at `now_ms` and the verdict.
pub fn bucket_step(
    state: Option<(f64, i64)>,
    now_ms: i64,
    per_second: f64,
    burst: u32,
) -> ((f64, i64), Option<Duration>) {
    let burst = f64::from(burst.max(1));
    let per_ms = per_second.max(f64::MIN_POSITIVE) / 1000.0;
    let tokens = match state {
        Some((tokens, at)) => (tokens + (now_ms - at).max(0) as f64 * per_ms).min(burst),
        None => burst,
    };
    if tokens >= 1.0 {
        ((tokens - 1.0, now_ms), None)
    } else {
        let wait_ms = ((1.0 - tokens) / per_ms).ceil().max(1.0);
        (
            (tokens, now_ms),
            Some(Duration::from_millis(wait_ms as u64)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::bucket_step;
    use std::time::Duration;

    #[test]
    fn a_bucket_starts_full_refills_at_its_rate_and_says_how_long_to_wait() {
        let (s, v) = bucket_step(None, 0, 10.0, 2);
        assert_eq!(v, None);
        let (s, v) = bucket_step(Some(s), 0, 10.0, 2);
        assert_eq!(v, None);
        let (s, v) = bucket_step(Some(s), 0, 10.0, 2);
        assert_eq!(v, Some(Duration::from_millis(100)));
        let (s, v) = bucket_step(Some(s), 50, 10.0, 2);
        assert_eq!(v, Some(Duration::from_millis(50)));
        let (_, v) = bucket_step(Some(s), 100, 10.0, 2);
        assert_eq!(v, None);
        // Never more than `burst` saved up, however long it sat.
        let (s, _) = bucket_step(Some((0.0, 0)), 1_000_000, 10.0, 2);
        assert!(s.0 <= 1.0);
    }
}
