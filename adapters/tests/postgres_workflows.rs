//! Postgres workflow store races beyond the shared contract, against a real server
//! (`STEM_TEST_POSTGRES_URL`; skipped when unset), from two stores (two connection pools): a
//! write waiting for a run's lock must see what the write it waited for left. Emitters of
//! overlapping topics never deadlock and take each waiter once; a rewind racing a fenced step
//! write leaves no step past the rewind point; a cancel racing a suspension leaves no waiter; a
//! suspension racing an emit leaves no waiter of a done step; an emit racing timeout writes
//! gives each event step one winner.

mod postgres_support;

use postgres_support::Fixture;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use stem_adapters::connect::Store;
use stem_adapters::workflow::{Claim, RunState, Waiter, WfRun, WfStep};
use stem_protocol::workflow::{StepKind, StepState};
use stem_protocol::{new_task_id, now_ms};

/// Races per test: each is its own run, all started at once.
const RACES: usize = 40;

fn new_run() -> WfRun {
    let now = now_ms();
    WfRun {
        id: new_task_id(),
        workflow: "order".into(),
        version: 1,
        queue: "wf".into(),
        state: RunState::Running,
        data: "{}".into(),
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

fn step(run: &str, index: u32, kind: StepKind, state: StepState) -> WfStep {
    let now = now_ms();
    WfStep {
        run: run.into(),
        index,
        name: format!("s{index}"),
        kind,
        state,
        attempt: 1,
        data: None,
        started_at: now,
        updated_at: now,
        finished_at: state.is_final().then_some(now),
    }
}

fn waiter(topic: &str, run: &str, index: u32) -> Waiter {
    Waiter {
        topic: topic.into(),
        run: run.into(),
        index,
        deadline: None,
        since: now_ms(),
    }
}

/// A started run claimed by resume `r1` (sequence 1) at generation `gen`.
async fn claimed(store: &Arc<dyn Store>, gen: u64) -> String {
    let run = new_run();
    assert!(store.wf_start(&run).await.unwrap().1);
    let c = store
        .wf_claim(&run.id, 1, "r1", gen, now_ms())
        .await
        .unwrap();
    assert!(matches!(c, Claim::Claimed { .. }), "{c:?}");
    run.id
}

/// Writes event step `index` waiting and suspends the run on `topic` there.
async fn wait_on(store: &Arc<dyn Store>, id: &str, gen: u64, topic: &str, index: u32) {
    let s = step(id, index, StepKind::Event, StepState::Waiting);
    assert!(store.wf_write_step(gen, &s).await.unwrap());
    let w = waiter(topic, id, index);
    assert!(store
        .wf_suspend(id, gen, None, Some(&w), now_ms())
        .await
        .unwrap());
}

/// Runs `a` and `b` at once, each on its own task; returns both outcomes.
async fn race<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: Future + Send + 'static,
    A::Output: Send + 'static,
    B: Future + Send + 'static,
    B::Output: Send + 'static,
{
    let (a, b) = (tokio::spawn(a), tokio::spawn(b));
    (a.await.unwrap(), b.await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emitters_of_overlapping_topics_take_each_waiter_once() {
    let Some(fx) = Fixture::new() else { return };
    let (a, b) = (fx.store().await, fx.store().await);
    let (ta, tb) = (
        format!("a.{}", new_task_id()),
        format!("b.{}", new_task_id()),
    );
    let mut ids = Vec::new();
    for _ in 0..RACES {
        let id = claimed(&a, 10).await;
        wait_on(&a, &id, 10, &ta, 0).await;
        wait_on(&a, &id, 10, &tb, 1).await;
        ids.push(id);
    }
    let mut emits = Vec::new();
    for k in 0..16 {
        let store = if k % 2 == 0 { a.clone() } else { b.clone() };
        let topic = if k % 4 < 2 { ta.clone() } else { tb.clone() };
        emits.push(tokio::spawn(async move {
            store.wf_emit(&topic, "{}", now_ms()).await.unwrap()
        }));
    }
    // Every third run is cancelled meanwhile.
    let mut cancels = Vec::new();
    for id in ids.iter().step_by(3) {
        let (store, id) = (b.clone(), id.clone());
        cancels.push(tokio::spawn(async move {
            store
                .wf_finish(&id, None, RunState::Cancelled, None, now_ms())
                .await
                .unwrap()
        }));
    }
    let mut woken: HashMap<(String, u32), u32> = HashMap::new();
    for e in emits {
        for w in e.await.unwrap() {
            assert_eq!(w.seq, 2);
            *woken.entry((w.run, w.index)).or_default() += 1;
        }
    }
    for c in cancels {
        assert!(c.await.unwrap().is_some(), "each cancel ends a live run");
    }
    assert!(woken.values().all(|&n| n == 1), "woken twice: {woken:?}");
    for (i, id) in ids.iter().enumerate() {
        let steps = a.wf_steps(id).await.unwrap();
        for index in [0u32, 1] {
            let took = woken.contains_key(&(id.clone(), index));
            let done = steps[index as usize].state == StepState::Done;
            assert_eq!(took, done, "run {id} step {index}: woken iff done");
            assert!(took || i % 3 == 0, "a run never cancelled is woken");
        }
    }
    for topic in [&ta, &tb] {
        let left = a.wf_waiters(Some(topic), 1000).await.unwrap();
        assert!(left.is_empty(), "waiters left on {topic}: {left:?}");
    }
    drop((a, b));
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rewind_racing_a_fenced_write_leaves_no_later_step() {
    let Some(fx) = Fixture::new() else { return };
    let (a, b) = (fx.store().await, fx.store().await);
    let mut races = Vec::new();
    for _ in 0..RACES {
        let id = claimed(&a, 10).await;
        for index in 0..3 {
            let s = step(&id, index, StepKind::Step, StepState::Done);
            assert!(a.wf_write_step(10, &s).await.unwrap());
        }
        let late = step(&id, 3, StepKind::Step, StepState::Done);
        let (a, b, rid) = (a.clone(), b.clone(), id.clone());
        races.push((
            id,
            tokio::spawn(race(
                async move { a.wf_write_step(10, &late).await.unwrap() },
                async move { b.wf_rewind(&rid, 1, now_ms()).await.unwrap() },
            )),
        ));
    }
    for (id, r) in races {
        let (_, after) = r.await.unwrap();
        let after = after.expect("the run exists");
        assert_eq!((after.generation, after.state), (11, RunState::Suspended));
        let steps = a.wf_steps(&id).await.unwrap();
        let kept: Vec<u32> = steps.iter().map(|s| s.index).collect();
        assert_eq!(kept, [0], "run {id}: steps left {kept:?}");
    }
    drop((a, b));
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_racing_a_suspension_leaves_no_waiter() {
    let Some(fx) = Fixture::new() else { return };
    let (a, b) = (fx.store().await, fx.store().await);
    let topic = format!("c.{}", new_task_id());
    let mut races = Vec::new();
    for _ in 0..RACES {
        let id = claimed(&a, 10).await;
        let s = step(&id, 0, StepKind::Event, StepState::Waiting);
        assert!(a.wf_write_step(10, &s).await.unwrap());
        let (a, b, w, id2) = (a.clone(), b.clone(), waiter(&topic, &id, 0), id.clone());
        races.push((
            id,
            tokio::spawn(async move {
                race(
                    async move { a.wf_suspend(&w.run, 10, None, Some(&w), now_ms()).await },
                    async move {
                        b.wf_finish(&id2, None, RunState::Cancelled, None, now_ms())
                            .await
                    },
                )
                .await
            }),
        ));
    }
    for (id, r) in races {
        let (suspended, cancelled) = r.await.unwrap();
        let before = cancelled.unwrap().expect("the cancel ends the run");
        let suspended = suspended.unwrap();
        assert_eq!(
            before.state == RunState::Suspended,
            suspended,
            "run {id}: the cancel saw the suspension iff it came second"
        );
        let run = a.wf_get(&id).await.unwrap().unwrap();
        assert_eq!(run.state, RunState::Cancelled);
    }
    let left = a.wf_waiters(Some(&topic), 1000).await.unwrap();
    assert!(left.is_empty(), "waiters of cancelled runs: {left:?}");
    drop((a, b));
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suspension_racing_an_emit_leaves_no_waiter_of_a_done_step() {
    let Some(fx) = Fixture::new() else { return };
    let (a, b) = (fx.store().await, fx.store().await);
    let mut races = Vec::new();
    for _ in 0..RACES {
        let topic = format!("s.{}", new_task_id());
        let id = claimed(&a, 10).await;
        wait_on(&a, &id, 10, &topic, 0).await;
        // A nudge takes the run; its resume suspends on the same event step again.
        let c = a.wf_claim(&id, 0, "nudge", 20, now_ms()).await.unwrap();
        assert!(matches!(c, Claim::Claimed { .. }), "{c:?}");
        let (a, b, w) = (a.clone(), b.clone(), waiter(&topic, &id, 0));
        races.push((
            id,
            topic.clone(),
            tokio::spawn(async move {
                race(
                    async move { a.wf_suspend(&w.run, 20, None, Some(&w), now_ms()).await },
                    async move { b.wf_emit(&topic, "{\"e\":1}", now_ms()).await },
                )
                .await
            }),
        ));
    }
    for (id, topic, r) in races {
        let (suspended, woken) = r.await.unwrap();
        assert!(suspended.unwrap(), "the nudged resume suspends");
        let woken = woken.unwrap();
        assert_eq!(woken.len(), 1, "run {id}: the waiter was there all along");
        assert_eq!((woken[0].index, woken[0].seq), (0, 3));
        let steps = a.wf_steps(&id).await.unwrap();
        assert_eq!(steps[0].state, StepState::Done);
        let left = a.wf_waiters(Some(&topic), 10).await.unwrap();
        assert!(left.is_empty(), "run {id}: waiter of a done step: {left:?}");
    }
    drop((a, b));
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emit_racing_timeouts_gives_each_step_one_winner() {
    let Some(fx) = Fixture::new() else { return };
    let (a, b) = (fx.store().await, fx.store().await);
    let topic = format!("t.{}", new_task_id());
    let mut ids = Vec::new();
    for _ in 0..RACES {
        let id = claimed(&a, 10).await;
        wait_on(&a, &id, 10, &topic, 0).await;
        // The timer resume takes the suspension and is about to write the timeout.
        let c = a.wf_claim(&id, 2, "timer", 20, now_ms()).await.unwrap();
        assert!(matches!(c, Claim::Claimed { .. }), "{c:?}");
        ids.push(id);
    }
    let mut writes = Vec::new();
    for id in &ids {
        let (store, mut timeout) = (a.clone(), step(id, 0, StepKind::Event, StepState::Done));
        timeout.data = Some("{\"timed_out\":true}".into());
        writes.push(tokio::spawn(async move {
            store.wf_write_step(20, &timeout).await.unwrap()
        }));
    }
    let emits: Vec<_> = (0..4)
        .map(|_| {
            let (store, topic) = (b.clone(), topic.clone());
            tokio::spawn(async move { store.wf_emit(&topic, "{\"e\":1}", now_ms()).await.unwrap() })
        })
        .collect();
    let mut woken: HashMap<String, u64> = HashMap::new();
    for e in emits {
        for w in e.await.unwrap() {
            assert!(woken.insert(w.run, w.seq).is_none(), "a run woken twice");
        }
    }
    for (id, w) in ids.iter().zip(writes) {
        let timed_out = w.await.unwrap();
        let by_event = woken.get(id).copied();
        assert_ne!(timed_out, by_event.is_some(), "run {id}: one winner");
        if let Some(seq) = by_event {
            assert_eq!(seq, 3, "the resume after the timer's");
        }
        let step = &a.wf_steps(id).await.unwrap()[0];
        let want = if timed_out {
            "{\"timed_out\":true}"
        } else {
            "{\"e\":1}"
        };
        assert_eq!(step.data.as_deref(), Some(want));
    }
    assert!(a.wf_waiters(Some(&topic), 100).await.unwrap().is_empty());
    drop((a, b));
    fx.cleanup().await;
}
