//! The one wait helper behind every "return as soon as there is something, or after the wait"
//! call (fetch, result waits, control requests and replies, events): a [`Deadline`], and
//! [`on_notify`], which registers for a wake-up *before* each look so a change between the look
//! and the sleep is never missed, then sleeps until the wake-up or the backend's nap cap.

use crate::Result;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The moment a wait gives up.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn after(wait: Duration) -> Self {
        Deadline(Instant::now() + wait)
    }

    pub fn passed(&self) -> bool {
        Instant::now() >= self.0
    }

    /// Time left, zero once passed.
    pub fn left(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    pub fn instant(&self) -> Instant {
        self.0
    }
}

/// What one look found: the answer, or what to answer if the deadline has passed.
pub enum Look<T> {
    Done(T),
    Again(T),
}

/// Looks with `look` until it is done or `deadline` passes (then returns the last look's
/// value), sleeping between looks until `notify` fires or until `nap(deadline)`, the backend's
/// own cap (say, shorter while its notification channel is down).
pub async fn on_notify<T, F, Fut>(
    notify: &Notify,
    deadline: Deadline,
    nap: impl Fn(Instant) -> Instant,
    mut look: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Look<T>>>,
{
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match look().await? {
            Look::Done(v) => return Ok(v),
            Look::Again(v) if deadline.passed() => return Ok(v),
            Look::Again(_) => {}
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(nap(deadline.instant())) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn wakes_on_notify_and_gives_up_at_the_deadline() {
        let notify = Arc::new(Notify::new());
        let looks = AtomicU32::new(0);
        let n = notify.clone();
        let waker = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            n.notify_waiters();
        });
        let got = on_notify(
            &notify,
            Deadline::after(Duration::from_secs(30)),
            |d| d,
            || async {
                let k = looks.fetch_add(1, Ordering::SeqCst);
                Ok(if k >= 1 {
                    Look::Done(k)
                } else {
                    Look::Again(k)
                })
            },
        )
        .await
        .unwrap();
        assert_eq!(got, 1, "done on the look after the wake-up");
        waker.await.unwrap();
        let started = Instant::now();
        let last = on_notify(
            &notify,
            Deadline::after(Duration::from_millis(30)),
            |d| d,
            || async { Ok(Look::Again("empty")) },
        )
        .await
        .unwrap();
        assert_eq!(last, "empty");
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
