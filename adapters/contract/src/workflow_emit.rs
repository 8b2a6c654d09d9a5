//! Contract cases of the `WorkflowStore`'s events: emits taking each waiter once under concurrent
//! emitters, and an emit and a timeout racing for one step.

use crate::workflow_fixtures::*;
use std::collections::HashMap;
use std::sync::Arc;
use stem_adapters::connect::Store;

use stem_protocol::workflow::{StepKind, StepState};
use stem_protocol::{new_task_id, now_ms};

/// Concurrent emitters take each waiter once: every waiting run is woken exactly once, with the
/// event in its step and the next sequence to publish.
pub async fn wf_emit_takes_each_waiter_once(store: Arc<dyn Store>) {
    let topic = format!("shipment.{}", new_task_id());
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(waiting(&store, &topic, 50).await.id);
    }
    let other = waiting(&store, "another.topic", 50).await;
    assert_eq!(
        store.wf_waiters(Some(&topic), 1000).await.unwrap().len(),
        40
    );
    let mut tasks = Vec::new();
    for k in 0..8 {
        let store = store.clone();
        let topic = topic.clone();
        tasks.push(tokio::spawn(async move {
            store
                .wf_emit(&topic, &format!("{{\"event\":{k}}}"), now_ms())
                .await
                .unwrap()
        }));
    }
    let mut woken: HashMap<String, u32> = HashMap::new();
    for t in tasks {
        for w in t.await.unwrap() {
            assert_eq!(
                (w.index, w.seq, w.workflow.as_str(), w.queue.as_str()),
                (0, 2, "order", "wf")
            );
            *woken.entry(w.run).or_default() += 1;
        }
    }
    assert_eq!(woken.len(), 40, "every waiting run woken");
    assert!(
        woken.values().all(|&n| n == 1),
        "each run woken once: {woken:?}"
    );
    for id in &ids {
        let steps = store.wf_steps(id).await.unwrap();
        assert_eq!(steps[0].state, StepState::Done);
        assert!(steps[0]
            .data
            .as_deref()
            .unwrap_or("")
            .starts_with("{\"event\":"));
    }
    assert!(store
        .wf_waiters(Some(&topic), 1000)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .wf_waiters(Some("another.topic"), 1000)
            .await
            .unwrap()
            .iter()
            .filter(|w| w.run == other.id)
            .count(),
        1
    );
    assert!(
        store
            .wf_emit(&topic, "{}", now_ms())
            .await
            .unwrap()
            .is_empty(),
        "nobody waits any more"
    );
}

/// An emit and a timeout race for one event step: whichever writes first wins.
pub async fn wf_emit_and_timeout_race(store: Arc<dyn Store>) {
    let topic = format!("t.{}", new_task_id());
    // The timeout first: the emit then finds nobody.
    let a = waiting(&store, &topic, 50).await;
    assert!(claimed(&claim(&store, &a.id, 2, "timer", 60).await));
    let mut timeout = step(&a.id, 0, "shipped", StepKind::Event, StepState::Done);
    timeout.data = Some("{\"timed_out\":true}".into());
    assert!(store.wf_write_step(60, &timeout).await.unwrap());
    assert!(store
        .wf_emit(&topic, "{}", now_ms())
        .await
        .unwrap()
        .is_empty());
    // The emit first: the timeout's write is refused.
    let b = waiting(&store, &topic, 50).await;
    assert_eq!(
        store
            .wf_emit(&topic, "{\"e\":1}", now_ms())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(claimed(&claim(&store, &b.id, 2, "timer", 60).await));
    let mut late = step(&b.id, 0, "shipped", StepKind::Event, StepState::Done);
    late.data = Some("{\"timed_out\":true}".into());
    assert!(
        !store.wf_write_step(60, &late).await.unwrap(),
        "the event was there first"
    );
    assert_eq!(
        store.wf_steps(&b.id).await.unwrap()[0].data.as_deref(),
        Some("{\"e\":1}")
    );
}
