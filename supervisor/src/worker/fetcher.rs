//! The fetcher: leases batches from the broker when the dispatcher asks, one fetch at a time,
//! and hands back what it got. A broker error is logged and answered after a backoff, so the
//! dispatcher simply asks again; the worker keeps running through outages.

use super::config::WorkerConfig;
use super::dispatcher::Event;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long one fetch may wait for work before the dispatcher looks at its state again.
pub const FETCH_WAIT: Duration = Duration::from_secs(1);

pub struct FetchRequest {
    pub max: usize,
    pub queues: Vec<String>,
}

pub async fn run(
    config: Arc<WorkerConfig>,
    mut rx: mpsc::UnboundedReceiver<FetchRequest>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut backoff = Duration::from_millis(200);
    while let Some(req) = rx.recv().await {
        // The leases it takes are current from no earlier than this.
        let sent = std::time::Instant::now();
        let got = config
            .adapters
            .broker
            .fetch(
                &config.worker_id,
                &req.queues,
                req.max,
                config.lease,
                FETCH_WAIT,
            )
            .await;
        let got = match got {
            Ok(d) => {
                backoff = Duration::from_millis(200);
                Ok(d)
            }
            Err(e) => {
                tracing::warn!("fetch from the broker failed ({e}); retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                Err(e.to_string())
            }
        };
        if events.send(Event::Fetched(got, sent)).is_err() {
            return;
        }
    }
}
