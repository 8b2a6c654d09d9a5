//! Queue sizes: ready, delayed, leased and dead counts of each queue, named or every queue the
//! broker knows, whether it is paused and how many live workers consume it; pausing and resuming a queue for every worker (stored
//! in the broker's flow-control state, so it outlives worker restarts).

use super::OpsResult;
use serde::Serialize;
use stem_adapters::{Adapters, QueueCounts};

/// One queue's sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueSize {
    pub queue: String,
    #[serde(flatten)]
    pub counts: QueueCounts,
    /// Paused in the store: no worker fetches from it.
    pub paused: bool,
    /// Live workers (a heartbeat within the last few seconds) consuming it; 0 means nothing
    /// will run what waits there.
    pub consumers: usize,
}

/// A queue's pause after [`set_paused`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PauseState {
    pub queue: String,
    pub paused: bool,
    /// Every queue paused now.
    pub paused_queues: Vec<String>,
}

/// Refuses a queue neither the broker (a task was published to it), the manifest's routes nor
/// the stored pauses know.
pub async fn check_known(
    adapters: &Adapters,
    queue: &str,
    manifest_queues: &[String],
) -> OpsResult<()> {
    let mut known = adapters.admin.queues().await?;
    known.extend(manifest_queues.iter().cloned());
    known.extend(adapters.flow.paused_queues().await?);
    known.sort();
    known.dedup();
    if known.iter().any(|q| q == queue) {
        return Ok(());
    }
    Err(super::OpsError::UnknownQueue {
        queue: queue.to_string(),
        known,
    })
}

/// Pauses (or resumes) `queue` for every worker, including those started later. The queue must
/// be known: to the broker (a task was published to it) or to the manifest's routes.
pub async fn set_paused(
    adapters: &Adapters,
    queue: &str,
    paused: bool,
    manifest_queues: &[String],
) -> OpsResult<PauseState> {
    check_known(adapters, queue, manifest_queues).await?;
    adapters.flow.set_paused(queue, paused).await?;
    Ok(PauseState {
        queue: queue.to_string(),
        paused,
        paused_queues: adapters.flow.paused_queues().await?,
    })
}

/// The sizes of `queues`, in the order given, or of every queue the broker knows (`None`).
pub async fn sizes(adapters: &Adapters, queues: Option<Vec<String>>) -> OpsResult<Vec<QueueSize>> {
    let paused = adapters.flow.paused_queues().await?;
    let names = match queues {
        Some(q) => q,
        None => {
            let mut all = adapters.admin.queues().await?;
            all.extend(paused.iter().cloned());
            all.sort();
            all.dedup();
            all
        }
    };
    let now = stem_protocol::now_ms();
    let live: Vec<Vec<String>> = adapters
        .control
        .workers()
        .await?
        .into_iter()
        .filter(|w| !super::workers::is_lapsed(w.at, now, super::control::LIVE_LAPSE))
        .map(|w| w.queues)
        .collect();
    let mut sizes = Vec::with_capacity(names.len());
    for queue in names {
        let counts = adapters.admin.counts(&queue).await?;
        let paused = paused.contains(&queue);
        let consumers = live.iter().filter(|q| q.contains(&queue)).count();
        sizes.push(QueueSize {
            queue,
            counts,
            paused,
            consumers,
        });
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::memory;
    use stem_protocol::TaskEnvelope;

    #[tokio::test]
    async fn every_known_queue_or_the_named_ones() {
        let adapters = memory("queues").await;
        let mut env = TaskEnvelope::new("t");
        env.queue = "emails".into();
        adapters.broker.publish(&[env]).await.expect("publish");
        let all = sizes(&adapters, None).await.expect("sizes");
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].queue.as_str(), all[0].counts.ready), ("emails", 1));
        let named = sizes(&adapters, Some(vec!["other".into()]))
            .await
            .expect("sizes");
        assert_eq!(named[0].counts, QueueCounts::default());
    }

    #[tokio::test]
    async fn pauses_are_stored_and_unknown_queues_refused() {
        let adapters = memory("queues-pause").await;
        let err = set_paused(&adapters, "nosuch", true, &[])
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown queue \"nosuch\""),
            "{err}"
        );
        let routed = vec!["emails".to_string()];
        let state = set_paused(&adapters, "emails", true, &routed)
            .await
            .unwrap();
        assert_eq!(state.paused_queues, routed);
        let sizes = sizes(&adapters, Some(routed.clone())).await.unwrap();
        assert!(sizes[0].paused);
        // A paused queue stays resumable even when nothing else knows it any more.
        let state = set_paused(&adapters, "emails", false, &[]).await.unwrap();
        assert!(state.paused_queues.is_empty());
    }
}
