//! Queue sizes: ready, delayed, leased and dead counts of each queue, named or every queue the
//! broker knows.

use super::OpsResult;
use serde::Serialize;
use stem_adapters::{Adapters, QueueCounts};

/// One queue's sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueSize {
    pub queue: String,
    #[serde(flatten)]
    pub counts: QueueCounts,
}

/// The sizes of `queues`, in the order given, or of every queue the broker knows (`None`).
pub async fn sizes(adapters: &Adapters, queues: Option<Vec<String>>) -> OpsResult<Vec<QueueSize>> {
    let names = match queues {
        Some(q) => q,
        None => adapters.admin.queues().await?,
    };
    let mut sizes = Vec::with_capacity(names.len());
    for queue in names {
        let counts = adapters.admin.counts(&queue).await?;
        sizes.push(QueueSize { queue, counts });
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
}
