//! Contract cases of canvas group state: each member joins once, exactly one member (the one
//! whose join completed the group) is told it completed it — also when joins race and when a
//! member joins again after a redelivery — results come back by index, the first failed
//! member is reported once, and the state expires with its TTL.

use crate::util::*;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::connect::Store;

const KEEP: Duration = Duration::from_secs(600);

fn gid() -> String {
    format!("g-{}", uuid::Uuid::new_v4())
}

/// Members join in any order; the last one is the completer, once; a repeat keeps the first result.
pub async fn group_join_completes_once(store: Arc<dyn Store>) {
    let g = gid();
    assert!(!store
        .group_join(&g, 2, 3, &json!("c"), KEEP)
        .await
        .expect("join"));
    assert!(!store
        .group_join(&g, 0, 3, &json!("a"), KEEP)
        .await
        .expect("join"));
    assert!(
        !store
            .group_join(&g, 0, 3, &json!("again"), KEEP)
            .await
            .expect("join"),
        "a repeat does not complete"
    );
    let partial = store
        .group_results(&g)
        .await
        .expect("results")
        .expect("state");
    assert_eq!(partial, vec![Some(json!("a")), None, Some(json!("c"))]);
    assert!(
        store
            .group_join(&g, 1, 3, &json!("b"), KEEP)
            .await
            .expect("join"),
        "the last join completes"
    );
    assert!(
        store
            .group_join(&g, 1, 3, &json!("b2"), KEEP)
            .await
            .expect("join"),
        "the completer's redelivery completes again"
    );
    assert!(
        !store
            .group_join(&g, 2, 3, &json!("c"), KEEP)
            .await
            .expect("join"),
        "others never do"
    );
    let all = store
        .group_results(&g)
        .await
        .expect("results")
        .expect("state");
    assert_eq!(
        all,
        vec![Some(json!("a")), Some(json!("b")), Some(json!("c"))]
    );
    assert_eq!(
        store.group_results(&gid()).await.expect("results"),
        None,
        "no state"
    );
}

/// Many members joining at once from many tasks: exactly one completer.
pub async fn group_join_racing_members_one_completer(store: Arc<dyn Store>) {
    let g = gid();
    let size = 40u32;
    let joins: Vec<_> = (0..size)
        .map(|i| {
            let (store, g) = (store.clone(), g.clone());
            tokio::spawn(async move {
                (
                    i,
                    store
                        .group_join(&g, i, size, &json!(i), KEEP)
                        .await
                        .expect("join"),
                )
            })
        })
        .collect();
    let mut completers = HashSet::new();
    for j in joins {
        let (i, done) = j.await.expect("task");
        if done {
            completers.insert(i);
        }
    }
    assert_eq!(completers.len(), 1, "exactly one completer: {completers:?}");
    let all = store
        .group_results(&g)
        .await
        .expect("results")
        .expect("state");
    assert_eq!(all, (0..size).map(|i| Some(json!(i))).collect::<Vec<_>>());
}

/// The first failed member is reported once (again for its own redelivery).
pub async fn group_fail_reported_once(store: Arc<dyn Store>) {
    let g = gid();
    assert!(store.group_fail(&g, 1, 3, KEEP).await.expect("fail"));
    assert!(!store.group_fail(&g, 2, 3, KEEP).await.expect("fail"));
    assert!(
        store.group_fail(&g, 1, 3, KEEP).await.expect("fail"),
        "the same member again"
    );
}

/// Group state lives as long as its TTL from the latest change, then it is gone.
pub async fn group_state_expires(store: Arc<dyn Store>) {
    let g = gid();
    store
        .group_join(&g, 0, 2, &json!(1), Duration::from_millis(300))
        .await
        .expect("join");
    assert!(store.group_results(&g).await.expect("results").is_some());
    eventually("group state expires", || {
        let (store, g) = (store.clone(), g.clone());
        async move {
            store
                .group_results(&g)
                .await
                .expect("results")
                .is_none()
                .then_some(())
        }
    })
    .await;
}
