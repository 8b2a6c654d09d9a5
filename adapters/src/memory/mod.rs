//! The in-memory backend (`memory://` or `memory://NAME`): every queue, record and stream lives
//! in this process behind one mutex, and waiters (fetch, result wait, control and event reads)
//! sleep on a `Notify` that every change wakes, or until the next lease expiry or eta. A fetch
//! over several queues takes them in the order given, highest priority then oldest within each.
//!
//! Each [`open`] makes a fresh store; sharing one store between a broker and a backend comes from
//! the cache in [`crate::connect::open`]. Nothing survives the process: this backend is for tests
//! and single-process use.

mod backend;
mod broker;
mod control;
mod flow;
mod groups;
mod history;
mod queue;
mod schedule;
mod state;
mod workflow;

use crate::connect::{ConnectOptions, Store};
use state::State;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use stem_protocol::now_ms;
use tokio::sync::Notify;

/// Opens a fresh in-memory store. The URL's name is kept for logs only.
pub fn open(url: &str, _options: &ConnectOptions) -> Arc<dyn Store> {
    tracing::debug!(url, "opening in-memory store");
    Arc::new(MemoryStore::default())
}

#[derive(Default)]
pub(crate) struct MemoryStore {
    state: Mutex<State>,
    changed: Notify,
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way later calls
        // would trip over, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a change and wakes every waiter.
    fn change<T>(&self, f: impl FnOnce(&mut State, i64) -> T) -> T {
        let out = f(&mut self.lock(), now_ms());
        self.changed.notify_waiters();
        out
    }

    /// Calls `attempt` until it yields a value or `wait` has passed, sleeping between tries until
    /// a change or the time `attempt` names as worth a retry (epoch ms). The last try happens at
    /// the deadline.
    async fn wait_for<T>(
        &self,
        wait: Duration,
        mut attempt: impl FnMut(&mut State, i64) -> (Option<T>, Option<i64>),
    ) -> Option<T> {
        let deadline = Instant::now() + wait;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = now_ms();
            let (value, wake_at) = attempt(&mut self.lock(), now);
            if value.is_some() {
                return value;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let until_wake = wake_at
                .map(|at| Duration::from_millis(at.saturating_sub(now).max(1) as u64))
                .unwrap_or(left);
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(left.min(until_wake)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Broker;
    use stem_protocol::TaskEnvelope;

    #[tokio::test]
    async fn stores_are_separate() {
        let a = open("memory://x", &ConnectOptions::default());
        let b = open("memory://x", &ConnectOptions::default());
        a.publish(&[TaskEnvelope::new("t")]).await.unwrap();
        assert_eq!(a.counts("default").await.unwrap().ready, 1);
        assert_eq!(b.counts("default").await.unwrap().ready, 0);
        assert_eq!(Broker::backend(a.as_ref()), "memory");
    }
}
