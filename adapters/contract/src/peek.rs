//! Contract case for looking at a queue's tasks (`BrokerAdmin::peek`): waiting ones in fetch
//! order, delayed ones by due time, leased ones with their holder; nothing is changed by looking.

use crate::util::*;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::connect::Store;
use stem_adapters::{Held, Payload, Peeked};
use stem_protocol::now_ms;

fn id_of(p: &Peeked) -> String {
    match &p.payload {
        Payload::Task(env) => env.id.clone(),
        Payload::Malformed { raw, .. } => format!("malformed: {raw}"),
    }
}

/// `peek` lists each state's tasks in the order they will move, at most the limit, and looking
/// changes nothing: the counts and the next fetch are as before.
pub async fn peek_lists_each_state(store: Arc<dyn Store>) {
    let low = task("look", "low");
    let mut high = task("look", "high");
    high.priority = 7;
    let mut middle = task("look", "middle");
    middle.priority = 3;
    let mut also_middle = task("look", "also_middle");
    also_middle.priority = 3;
    let soon = delayed_task("look", "soon", Duration::from_secs(600));
    let later = delayed_task("look", "later", Duration::from_secs(3600));
    for env in [&low, &high, &middle, &also_middle, &later, &soon] {
        store
            .publish(std::slice::from_ref(env))
            .await
            .expect("publish");
    }
    let got = fetch_now(&store, "peeker-1", "look", 1, LONG_LEASE).await;
    assert_eq!(got[0].task_id(), high.id, "the highest priority is leased");
    let before = store.counts("look").await.expect("counts");

    let waiting = store.peek("look", Held::Waiting, 10).await.expect("peek");
    assert_eq!(
        waiting.iter().map(id_of).collect::<Vec<_>>(),
        [middle.id.clone(), also_middle.id.clone(), low.id.clone()],
        "waiting: highest priority first, then oldest"
    );
    assert!(waiting.iter().all(|p| p.at.is_none() && p.owner.is_none()));
    let first = store.peek("look", Held::Waiting, 1).await.expect("peek");
    assert_eq!(
        first.iter().map(id_of).collect::<Vec<_>>(),
        [middle.id.clone()]
    );

    let delayed = store.peek("look", Held::Delayed, 10).await.expect("peek");
    assert_eq!(
        delayed.iter().map(id_of).collect::<Vec<_>>(),
        [soon.id.clone(), later.id.clone()],
        "delayed: soonest due first"
    );
    let due = delayed[0].at.expect("a delayed task says when it is due");
    assert!(
        (due - soon.eta.unwrap()).abs() < 5_000,
        "due at its eta ({due} vs {:?})",
        soon.eta
    );

    let leased = store.peek("look", Held::Leased, 10).await.expect("peek");
    assert_eq!(
        leased.iter().map(id_of).collect::<Vec<_>>(),
        [high.id.clone()]
    );
    let until = leased[0].at.expect("a lease says when it runs out");
    assert!(
        until > now_ms() + 30_000,
        "the lease runs out about a minute ahead"
    );
    if let Some(owner) = &leased[0].owner {
        assert_eq!(owner, "peeker-1", "the holder, where the store keeps it");
    }

    assert!(store
        .peek("empty-queue", Held::Waiting, 10)
        .await
        .expect("peek")
        .is_empty());
    assert!(store
        .peek("empty-queue", Held::Leased, 10)
        .await
        .expect("peek")
        .is_empty());
    assert!(store
        .peek("look", Held::Delayed, 0)
        .await
        .expect("peek")
        .is_empty());
    assert_eq!(
        store.counts("look").await.expect("counts"),
        before,
        "looking changes nothing"
    );
    let next = fetch_now(&store, "peeker-2", "look", 1, LONG_LEASE).await;
    assert_eq!(
        next[0].task_id(),
        middle.id,
        "the next fetch is the first waiting one"
    );
}
