//! Helpers shared by the contract cases: envelope builders, polling with a deadline, and the
//! assertion messages that say which rule a backend broke.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;
use stem_adapters::Delivery;
use stem_protocol::{now_ms, TaskEnvelope};

/// How long any single expectation may take before the case fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// A lease long enough never to expire during a case.
pub(crate) const LONG_LEASE: Duration = Duration::from_secs(60);

/// A short lease for the expiry cases.
pub(crate) const SHORT_LEASE: Duration = Duration::from_millis(300);

pub(crate) const NO_WAIT: Duration = Duration::ZERO;

/// A first-attempt envelope named `name` on `queue`.
pub(crate) fn task(queue: &str, name: &str) -> TaskEnvelope {
    let mut env = TaskEnvelope::new(name);
    env.queue = queue.to_string();
    env
}

/// An envelope on `queue` that is not due for `delay`.
pub(crate) fn delayed_task(queue: &str, name: &str, delay: Duration) -> TaskEnvelope {
    let mut env = task(queue, name);
    env.eta = Some(now_ms() + delay.as_millis() as i64);
    env
}

pub(crate) fn queues(names: &[&str]) -> Vec<String> {
    names.iter().map(|q| q.to_string()).collect()
}

/// The task ids of `deliveries`, in delivery order.
pub(crate) fn ids(deliveries: &[Delivery]) -> Vec<String> {
    deliveries.iter().map(|d| d.task_id()).collect()
}

/// One fetch without waiting.
pub(crate) async fn fetch_now(
    store: &Arc<dyn Store>,
    consumer: &str,
    queue: &str,
    max: usize,
    lease: Duration,
) -> Vec<Delivery> {
    store
        .fetch(consumer, &queues(&[queue]), max, lease, NO_WAIT)
        .await
        .expect("fetch")
}

/// Fetches from `queue` until at least one delivery arrives, failing after [`PATIENCE`].
pub(crate) async fn fetch_until_some(
    store: &Arc<dyn Store>,
    consumer: &str,
    queue: &str,
    max: usize,
    lease: Duration,
    what: &str,
) -> Vec<Delivery> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = store
            .fetch(
                consumer,
                &queues(&[queue]),
                max,
                lease,
                Duration::from_millis(50),
            )
            .await
            .expect("fetch");
        if !got.is_empty() {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: nothing fetched from {queue:?} within {PATIENCE:?}"
        );
    }
}

/// Polls `check` every 20 ms until it yields `Some`, failing with `what` after [`PATIENCE`].
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still not true after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Fails unless `elapsed` is at least `at_least` minus a little clock slack.
pub(crate) fn assert_not_before(what: &str, elapsed: Duration, at_least: Duration) {
    let slack = Duration::from_millis(60);
    assert!(
        elapsed + slack >= at_least,
        "{what}: happened after {elapsed:?}, expected not before {at_least:?}"
    );
}
