//! Fixtures of the `WorkflowStore` contract cases: a run, a step and a waiter to write, and a
//! run started, claimed or left waiting on a topic.

use std::sync::Arc;
use stem_adapters::connect::Store;
use stem_adapters::workflow::{Claim, RunState, Waiter, WfRun, WfStep};
use stem_protocol::workflow::{StepKind, StepState};
use stem_protocol::{new_task_id, now_ms};

pub(crate) fn run(workflow: &str) -> WfRun {
    let now = now_ms();
    WfRun {
        id: new_task_id(),
        workflow: workflow.to_string(),
        version: 1,
        queue: "wf".to_string(),
        state: RunState::Running,
        data: r#"{"args":[1]}"#.to_string(),
        outcome: None,
        seq: 0,
        resume_id: None,
        generation: 0,
        created_at: now,
        updated_at: now,
        suspended_at: None,
        wake_at: None,
        finished_at: None,
    }
}

pub(crate) fn step(run: &str, index: u32, name: &str, kind: StepKind, state: StepState) -> WfStep {
    let now = now_ms();
    WfStep {
        run: run.to_string(),
        index,
        name: name.to_string(),
        kind,
        state,
        attempt: 1,
        data: Some(format!(r#"{{"result":"{name}"}}"#)),
        started_at: now,
        updated_at: now,
        finished_at: state.is_final().then_some(now),
    }
}

pub(crate) fn waiter(topic: &str, run: &str, index: u32) -> Waiter {
    Waiter {
        topic: topic.to_string(),
        run: run.to_string(),
        index,
        deadline: Some(now_ms() + 60_000),
        since: now_ms(),
    }
}

pub(crate) async fn started(store: &Arc<dyn Store>, workflow: &str) -> WfRun {
    let r = run(workflow);
    let (stored, new) = store.wf_start(&r).await.expect("wf_start");
    assert!(new, "a run with a fresh id is new");
    stored
}

pub(crate) async fn claim(
    store: &Arc<dyn Store>,
    id: &str,
    seq: u64,
    resume: &str,
    gen: u64,
) -> Claim {
    store
        .wf_claim(id, seq, resume, gen, now_ms())
        .await
        .expect("wf_claim")
}

pub(crate) fn claimed(c: &Claim) -> bool {
    matches!(c, Claim::Claimed { .. })
}

/// Starts a run, claims it at `gen` and suspends it on `topic` at step 0.
pub(crate) async fn waiting(store: &Arc<dyn Store>, topic: &str, gen: u64) -> WfRun {
    let r = started(store, "order").await;
    assert!(claimed(&claim(store, &r.id, 1, "r1", gen).await));
    let s = step(&r.id, 0, "shipped", StepKind::Event, StepState::Waiting);
    assert!(store.wf_write_step(gen, &s).await.unwrap());
    let w = waiter(topic, &r.id, 0);
    assert!(store
        .wf_suspend(&r.id, gen, w.deadline, Some(&w), now_ms())
        .await
        .unwrap());
    r
}
