//! Waiting without cross-process notifications: try, then sleep until this process changes the
//! file (a `Notify`), another connection commits (`PRAGMA data_version` moves, checked with a
//! backoff from 5 ms to 50 ms), the next due time named by the try passes, or the deadline.

use super::{db, SqliteStore};
use crate::Result;
use rusqlite::Connection;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::futures::Notified;

const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(50);

/// What one try found: a value, or nothing yet and when it is worth trying again even if
/// nothing is written (an instant of this process: due times are on the file's clock, which
/// the try converts).
pub(super) struct Attempt<T> {
    pub value: Option<T>,
    pub wake_at: Option<Instant>,
}

impl<T> Attempt<T> {
    pub fn found(value: Option<T>) -> Self {
        Attempt {
            value,
            wake_at: None,
        }
    }

    /// The instant `ms` from now (now when not positive).
    pub fn in_ms(ms: i64) -> Instant {
        Instant::now() + Duration::from_millis(ms.max(0) as u64)
    }
}

impl SqliteStore {
    /// Calls `attempt` until it finds a value or `wait` has passed (one last try at the end).
    pub(super) async fn poll<T, F>(&self, wait: Duration, attempt: F) -> Result<Option<T>>
    where
        T: Send + 'static,
        F: Fn(&mut Connection, &str) -> Result<Attempt<T>> + Send + Sync + 'static,
    {
        let deadline = Instant::now() + wait;
        let attempt = Arc::new(attempt);
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let attempt = attempt.clone();
            let (version, got) = self
                .run(move |conn, ns| {
                    // Read first: a commit racing the try then shows up as a new version.
                    let version = db::data_version(conn)?;
                    Ok((version, attempt(conn, ns)?))
                })
                .await?;
            if got.value.is_some() {
                return Ok(got.value);
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            self.sleep_until_change(version, got.wake_at, deadline, notified)
                .await?;
        }
    }

    async fn sleep_until_change(
        &self,
        version: i64,
        wake_at: Option<Instant>,
        deadline: Instant,
        mut notified: Pin<&mut Notified<'_>>,
    ) -> Result<()> {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            let mut nap = backoff.min(left);
            if let Some(at) = wake_at {
                let until = at.saturating_duration_since(Instant::now());
                if until.is_zero() {
                    return Ok(());
                }
                nap = nap.min(until);
            }
            tokio::select! {
                _ = notified.as_mut() => return Ok(()),
                _ = tokio::time::sleep(nap) => {}
            }
            let now_version = self.run(|conn, _| db::data_version(conn)).await?;
            if now_version != version {
                return Ok(());
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}
