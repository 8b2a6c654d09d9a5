//! Contract cases of the `WorkflowStore`: idempotent starts, the claim rules (stale sequences,
//! one claim per suspension, nudges), fenced step writes (a stale resume's write refused), final
//! steps never rewritten, states only moving forward, rewind, listing and counts; the emit cases
//! are in `workflow_emit.rs`.

use crate::workflow_fixtures::*;
use std::collections::HashMap;
use std::sync::Arc;
use stem_adapters::connect::Store;
use stem_adapters::workflow::{Claim, RunFilter, RunState};
use stem_protocol::workflow::{StepKind, StepState};
use stem_protocol::{new_task_id, now_ms};

/// Starting a run twice with one id keeps the first.
pub async fn wf_start_is_idempotent(store: Arc<dyn Store>) {
    let first = started(&store, "checkout").await;
    let mut again = first.clone();
    again.data = r#"{"args":[2]}"#.to_string();
    let (stored, new) = store.wf_start(&again).await.unwrap();
    assert!(!new, "a second start with the same id is not new");
    assert_eq!(stored.data, first.data, "the first run's arguments stand");
    let got = store.wf_get(&first.id).await.unwrap().expect("stored run");
    assert_eq!(got.workflow, "checkout");
    assert_eq!(got.state, RunState::Running);
    assert!(store.wf_get("no-such-run").await.unwrap().is_none());
}

/// The claim rules: generation above the run's; sequence not below; an equal sequence only by
/// the same envelope (its redelivery); a nudge (seq 0) claims and raises the sequence.
pub async fn wf_claim_rules(store: Arc<dyn Store>) {
    let r = started(&store, "checkout").await;
    assert_eq!(claim(&store, "nope", 1, "x", 5).await, Claim::Unknown);
    let c = claim(&store, &r.id, 1, "r1", 10).await;
    let Claim::Claimed {
        run,
        previous,
        steps,
    } = c
    else {
        panic!("the first resume claims the run: {c:?}")
    };
    assert_eq!(previous, RunState::Running);
    assert_eq!((run.seq, run.generation), (1, 10));
    assert_eq!(run.resume_id.as_deref(), Some("r1"));
    assert!(steps.is_empty());
    assert_eq!(
        claim(&store, &r.id, 1, "r1", 10).await,
        Claim::Stale,
        "same generation again"
    );
    assert_eq!(
        claim(&store, &r.id, 1, "r1", 9).await,
        Claim::Stale,
        "an older generation"
    );
    assert_eq!(
        claim(&store, &r.id, 1, "other", 20).await,
        Claim::Stale,
        "another envelope of a sequence already claimed"
    );
    assert!(
        claimed(&claim(&store, &r.id, 1, "r1", 11).await),
        "a redelivery of the claimed envelope"
    );
    assert_eq!(
        claim(&store, &r.id, 0, "nudge", 11).await,
        Claim::Stale,
        "a nudge needs a newer generation too"
    );
    let Claim::Claimed { run, .. } = claim(&store, &r.id, 0, "nudge", 12).await else {
        panic!("a nudge claims whatever the sequence")
    };
    assert_eq!(run.seq, 2, "a nudge raises the sequence by one");
    assert_eq!(
        claim(&store, &r.id, 2, "timer", 13).await,
        Claim::Stale,
        "the timer of a sequence a nudge took"
    );
    assert!(claimed(&claim(&store, &r.id, 3, "timer", 14).await));
    let stored = store.wf_get(&r.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.seq, stored.generation, stored.state),
        (3, 14, RunState::Running)
    );
    store
        .wf_finish(&r.id, Some(14), RunState::Completed, Some("{}"), now_ms())
        .await
        .unwrap()
        .expect("the claimed resume ends its run");
    assert_eq!(
        claim(&store, &r.id, 4, "late", 20).await,
        Claim::Final(RunState::Completed)
    );
}

/// Of several resumes of one suspension racing to claim, exactly one wins.
pub async fn wf_one_claim_per_suspension(store: Arc<dyn Store>) {
    let r = started(&store, "checkout").await;
    assert!(claimed(&claim(&store, &r.id, 1, "r1", 100).await));
    assert!(store
        .wf_suspend(&r.id, 100, Some(now_ms()), None, now_ms())
        .await
        .unwrap());
    let mut tasks = Vec::new();
    for k in 0..8u64 {
        let store = store.clone();
        let id = r.id.clone();
        tasks.push(tokio::spawn(async move {
            claimed(
                &store
                    .wf_claim(&id, 2, &format!("waker{k}"), 200 + k, now_ms())
                    .await
                    .unwrap(),
            )
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += t.await.unwrap() as u32;
    }
    assert_eq!(wins, 1, "one resume per suspension: {wins} claimed");
}

/// A resume whose lease moved on (a newer claim) writes nothing: no step, no suspension, no end.
pub async fn wf_stale_resume_write_refused(store: Arc<dyn Store>) {
    let r = started(&store, "checkout").await;
    assert!(claimed(&claim(&store, &r.id, 1, "r1", 10).await));
    let s0 = step(&r.id, 0, "charge", StepKind::Step, StepState::Done);
    assert!(
        store.wf_write_step(10, &s0).await.unwrap(),
        "the claimed resume writes"
    );
    assert!(
        claimed(&claim(&store, &r.id, 1, "r1", 20).await),
        "redelivered after a freeze"
    );
    let s1 = step(&r.id, 1, "ship", StepKind::Step, StepState::Done);
    assert!(
        !store.wf_write_step(10, &s1).await.unwrap(),
        "the frozen resume's step is refused"
    );
    assert!(!store
        .wf_suspend(&r.id, 10, None, None, now_ms())
        .await
        .unwrap());
    assert!(store
        .wf_finish(&r.id, Some(10), RunState::Completed, None, now_ms())
        .await
        .unwrap()
        .is_none());
    let steps = store.wf_steps(&r.id).await.unwrap();
    assert_eq!(steps.len(), 1, "only the claimed resume's step: {steps:?}");
    assert!(
        store.wf_write_step(20, &s1).await.unwrap(),
        "the new owner writes"
    );
    assert_eq!(
        store.wf_get(&r.id).await.unwrap().unwrap().state,
        RunState::Running
    );
}

/// A final step is never rewritten; a running one may be.
pub async fn wf_final_step_kept(store: Arc<dyn Store>) {
    let r = started(&store, "checkout").await;
    assert!(claimed(&claim(&store, &r.id, 1, "r1", 10).await));
    let running = step(&r.id, 0, "charge", StepKind::Step, StepState::Running);
    assert!(store.wf_write_step(10, &running).await.unwrap());
    let mut retry = step(&r.id, 0, "charge", StepKind::Step, StepState::Retrying);
    retry.attempt = 2;
    assert!(store.wf_write_step(10, &retry).await.unwrap());
    let done = step(&r.id, 0, "charge", StepKind::Step, StepState::Done);
    assert!(store.wf_write_step(10, &done).await.unwrap());
    let mut other = step(&r.id, 0, "charge", StepKind::Step, StepState::Failed);
    other.data = Some("{\"error\":1}".into());
    assert!(
        !store.wf_write_step(10, &other).await.unwrap(),
        "a final step is kept"
    );
    let steps = store.wf_steps(&r.id).await.unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].state, StepState::Done);
    assert_eq!(steps[0].data, done.data);
    assert_eq!(steps[0].attempt, 1);
}

/// A run's state only moves forward: once final, no claim, step, suspension or second end.
pub async fn wf_state_only_forward(store: Arc<dyn Store>) {
    let topic = format!("t.{}", new_task_id());
    let r = waiting(&store, &topic, 50).await;
    let before = store
        .wf_finish(
            &r.id,
            None,
            RunState::Cancelled,
            Some("{\"why\":\"cancel\"}"),
            now_ms(),
        )
        .await
        .unwrap()
        .expect("an operator's cancel ends a live run");
    assert_eq!(before.state, RunState::Suspended);
    assert!(
        store.wf_waiters(Some(&topic), 10).await.unwrap().is_empty(),
        "its waiters are gone"
    );
    assert!(store
        .wf_emit(&topic, "{}", now_ms())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        claim(&store, &r.id, 2, "t", 99).await,
        Claim::Final(RunState::Cancelled)
    );
    let s = step(&r.id, 1, "x", StepKind::Step, StepState::Done);
    assert!(!store.wf_write_step(50, &s).await.unwrap());
    assert!(!store
        .wf_suspend(&r.id, 50, None, None, now_ms())
        .await
        .unwrap());
    for state in [RunState::Completed, RunState::Failed, RunState::TimedOut] {
        assert!(store
            .wf_finish(&r.id, None, state, None, now_ms())
            .await
            .unwrap()
            .is_none());
    }
    let r2 = started(&store, "checkout").await;
    assert!(
        store
            .wf_finish(&r2.id, None, RunState::Suspended, None, now_ms())
            .await
            .unwrap()
            .is_none(),
        "finish only moves to a final state"
    );
    let got = store.wf_get(&r.id).await.unwrap().unwrap();
    assert_eq!(got.state, RunState::Cancelled);
    assert_eq!(got.outcome.as_deref(), Some("{\"why\":\"cancel\"}"));
    assert!(got.finished_at.is_some());
}

/// Rewind drops the steps from the index on and the waiters, makes the run suspended again and
/// fences the resume that held it.
pub async fn wf_rewind_discards_and_fences(store: Arc<dyn Store>) {
    let r = started(&store, "checkout").await;
    assert!(claimed(&claim(&store, &r.id, 1, "r1", 10).await));
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let s = step(&r.id, i as u32, name, StepKind::Step, StepState::Done);
        assert!(store.wf_write_step(10, &s).await.unwrap());
    }
    store
        .wf_finish(&r.id, Some(10), RunState::Failed, Some("{}"), now_ms())
        .await
        .unwrap()
        .unwrap();
    let after = store
        .wf_rewind(&r.id, 1, now_ms())
        .await
        .unwrap()
        .expect("rewound");
    assert_eq!(after.state, RunState::Suspended);
    assert!(after.outcome.is_none() && after.finished_at.is_none());
    assert_eq!(after.generation, 11, "the generation is raised by one");
    let steps = store.wf_steps(&r.id).await.unwrap();
    assert_eq!(
        steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
    let s = step(&r.id, 1, "b", StepKind::Step, StepState::Done);
    assert!(
        !store.wf_write_step(10, &s).await.unwrap(),
        "the old resume is fenced"
    );
    assert!(claimed(
        &claim(&store, &r.id, after.seq + 1, "rewind", 30).await
    ));
    assert!(store.wf_write_step(30, &s).await.unwrap());
    assert!(store
        .wf_rewind("no-such-run", 0, now_ms())
        .await
        .unwrap()
        .is_none());
}

/// Listing is newest first and filters by state and name; counts by state; waiters by topic.
pub async fn wf_list_counts_waiters(store: Arc<dyn Store>) {
    let name = format!("lister{}", new_task_id());
    let mut ids = Vec::new();
    for i in 0..5i64 {
        let mut r = run(&name);
        r.created_at = 1_000_000 + i;
        store.wf_start(&r).await.unwrap();
        ids.push(r.id);
    }
    let filter = |state: Option<RunState>, before: Option<i64>, limit: usize| RunFilter {
        state,
        workflow: Some(name.clone()),
        before,
        limit,
    };
    let all = store.wf_list(&filter(None, None, 100)).await.unwrap();
    let got: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    let want: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(got, want, "newest first");
    let page = store
        .wf_list(&filter(None, Some(1_000_003), 2))
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [ids[2].as_str(), ids[1].as_str()]
    );
    store
        .wf_finish(&ids[0], None, RunState::Cancelled, None, now_ms())
        .await
        .unwrap()
        .unwrap();
    let cancelled = store
        .wf_list(&filter(Some(RunState::Cancelled), None, 10))
        .await
        .unwrap();
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].id, ids[0]);
    let counts: HashMap<RunState, u64> = store.wf_counts().await.unwrap().into_iter().collect();
    assert!(
        counts.get(&RunState::Running).copied().unwrap_or(0) >= 4,
        "{counts:?}"
    );
    assert!(
        counts.get(&RunState::Cancelled).copied().unwrap_or(0) >= 1,
        "{counts:?}"
    );
    let topic = format!("w.{}", new_task_id());
    let a = waiting(&store, &topic, 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let b = waiting(&store, &topic, 5).await;
    let ws = store.wf_waiters(Some(&topic), 10).await.unwrap();
    assert_eq!(
        ws.iter().map(|w| w.run.as_str()).collect::<Vec<_>>(),
        [a.id.as_str(), b.id.as_str()],
        "oldest first"
    );
    assert_eq!(ws[0].index, 0);
    assert!(ws[0].deadline.is_some());
    assert_eq!(store.wf_waiters(Some(&topic), 1).await.unwrap().len(), 1);
    assert!(store
        .wf_waiters(None, 1000)
        .await
        .unwrap()
        .iter()
        .any(|w| w.run == b.id));
}
