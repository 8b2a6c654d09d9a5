//! Contract case for finding a task by id: ready, delayed and leased tasks are found in their
//! queue; an acked task and an id never published are not.

use crate::util::*;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::connect::Store;

/// `find_task` names the queue of a ready, a delayed and a leased task, and nothing else.
pub async fn find_task_by_id(store: Arc<dyn Store>) {
    let ready = task("mail", "t");
    let later = delayed_task("mail", "t", Duration::from_secs(3600));
    let other = task("other", "t");
    store
        .publish(&[ready.clone(), later.clone(), other.clone()])
        .await
        .expect("publish");
    for (env, queue) in [(&ready, "mail"), (&later, "mail"), (&other, "other")] {
        assert_eq!(
            store.find_task(&env.id).await.expect("find"),
            Some(queue.to_string()),
            "a queued task is found in its queue"
        );
    }
    assert_eq!(
        store.find_task("never-published").await.expect("find"),
        None
    );
    let got = store
        .fetch("c", &queues(&["other"]), 1, LONG_LEASE, NO_WAIT)
        .await
        .expect("fetch");
    assert_eq!(
        store.find_task(&other.id).await.expect("find"),
        Some("other".to_string()),
        "a leased task is still found"
    );
    store.ack(&got).await.expect("ack");
    assert_eq!(
        store.find_task(&other.id).await.expect("find"),
        None,
        "an acked task is gone"
    );
}
