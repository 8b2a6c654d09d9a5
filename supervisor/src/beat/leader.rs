//! The beat lock from one beat's side: take it when free, renew it every third of its lease,
//! notice when it is lost (a renewal refused, or a claim refused as stale), and give it up at
//! shutdown. Holding the lock is a hint; the fencing token on every claim is the guarantee.

use std::time::{Duration, Instant};
use stem_adapters::{AdapterError, ScheduleStore};

/// How a change of leadership is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Gained(u64),
    Lost,
}

pub struct LeaderLock {
    holder: String,
    ttl: Duration,
    token: Option<u64>,
    renewed: Instant,
}

impl LeaderLock {
    pub fn new(holder: &str, ttl: Duration) -> Self {
        LeaderLock {
            holder: holder.to_string(),
            ttl,
            token: None,
            renewed: Instant::now(),
        }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The token while this beat believes it leads.
    pub fn token(&self) -> Option<u64> {
        self.token
    }

    /// Takes the lock if free, or renews it when a third of the lease has passed (at once after
    /// [`doubt`](Self::doubt)). Returns a change of leadership, if any.
    pub async fn ensure(
        &mut self,
        store: &dyn ScheduleStore,
    ) -> Result<Option<Change>, AdapterError> {
        match self.token {
            Some(_) if self.renewed.elapsed() < self.ttl / 3 => Ok(None),
            Some(token) => {
                if store.renew_leader(&self.holder, token, self.ttl).await? {
                    self.renewed = Instant::now();
                    Ok(None)
                } else {
                    self.token = None;
                    Ok(Some(Change::Lost))
                }
            }
            None => match store.acquire_leader(&self.holder, self.ttl).await? {
                Some(token) => {
                    self.token = Some(token);
                    self.renewed = Instant::now();
                    Ok(Some(Change::Gained(token)))
                }
                None => Ok(None),
            },
        }
    }

    /// A claim was refused: check the lock on the next [`ensure`](Self::ensure).
    pub fn doubt(&mut self) {
        self.renewed = Instant::now() - self.ttl;
    }

    /// Gives the lock up (at shutdown), so another beat takes over without waiting.
    pub async fn release(&mut self, store: &dyn ScheduleStore) {
        if let Some(token) = self.token.take() {
            if let Err(e) = store.release_leader(&self.holder, token).await {
                tracing::warn!(error = %e, "beat: could not release the lock; it expires by itself");
            }
        }
    }
}
