//! SQLite-only workflow behaviour the contract suite cannot reach: several stores (each its own
//! connection) on one file racing emits and claims — each waiter and each suspension taken
//! once — namespaces sharing a file without mixing runs, and generations past `i64::MAX`
//! compared as the u64 they are.

#![cfg(feature = "sqlite")]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use stem_adapters::connect::{ConnectOptions, Store};
use stem_adapters::workflow::{Claim, RunState, Waiter, WfRun, WfStep};
use stem_protocol::workflow::{StepKind, StepState};
use stem_protocol::{new_task_id, now_ms};

async fn open(path: &Path, namespace: &str) -> Arc<dyn Store> {
    let options = ConnectOptions {
        namespace: namespace.to_string(),
    };
    stem_adapters::sqlite::open(&format!("sqlite://{}", path.display()), &options)
        .await
        .expect("open sqlite")
}

fn new_run(workflow: &str) -> WfRun {
    let now = now_ms();
    WfRun {
        id: new_task_id(),
        workflow: workflow.to_string(),
        version: 1,
        queue: "wf".to_string(),
        state: RunState::Running,
        data: "{}".to_string(),
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

/// Starts a run, claims it at `generation` and suspends it on `topic` at an event step 0.
async fn waiting(store: &Arc<dyn Store>, topic: &str, generation: u64) -> String {
    let run = new_run("order");
    store.wf_start(&run).await.expect("wf_start");
    let claim = store
        .wf_claim(&run.id, 1, "r1", generation, now_ms())
        .await
        .expect("wf_claim");
    assert!(matches!(claim, Claim::Claimed { .. }), "{claim:?}");
    let now = now_ms();
    let step = WfStep {
        run: run.id.clone(),
        index: 0,
        name: "shipped".into(),
        kind: StepKind::Event,
        state: StepState::Waiting,
        attempt: 1,
        data: None,
        started_at: now,
        updated_at: now,
        finished_at: None,
    };
    assert!(store.wf_write_step(generation, &step).await.unwrap());
    let waiter = Waiter {
        topic: topic.to_string(),
        run: run.id.clone(),
        index: 0,
        deadline: None,
        since: now,
    };
    assert!(store
        .wf_suspend(&run.id, generation, None, Some(&waiter), now)
        .await
        .unwrap());
    run.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_on_one_file_take_each_waiter_once() {
    const RUNS: usize = 60;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stem.db");
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(open(&path, "stem").await);
    }
    let topic = format!("shipment.{}", new_task_id());
    let mut ids = Vec::new();
    for i in 0..RUNS {
        ids.push(waiting(&stores[i % stores.len()], &topic, 7).await);
    }
    let mut emitters = Vec::new();
    for k in 0..12 {
        let store = stores[k % stores.len()].clone();
        let topic = topic.clone();
        emitters.push(tokio::spawn(async move {
            store
                .wf_emit(&topic, &format!("{{\"event\":{k}}}"), now_ms())
                .await
                .expect("wf_emit")
        }));
    }
    let mut woken: HashMap<String, u32> = HashMap::new();
    let mut events = HashMap::new();
    for (k, emitter) in emitters.into_iter().enumerate() {
        for w in emitter.await.unwrap() {
            assert_eq!((w.index, w.seq), (0, 2));
            events.insert(w.run.clone(), format!("{{\"event\":{k}}}"));
            *woken.entry(w.run).or_default() += 1;
        }
    }
    assert_eq!(woken.len(), RUNS, "every waiting run woken");
    assert!(
        woken.values().all(|&n| n == 1),
        "each run woken by one emit: {woken:?}"
    );
    for id in &ids {
        // Read through another connection than most emitters used: the event that woke the run
        // is the one its step holds.
        let steps = stores[3].wf_steps(id).await.unwrap();
        assert_eq!(steps[0].state, StepState::Done);
        assert_eq!(steps[0].data.as_ref(), events.get(id));
    }
    assert!(stores[1]
        .wf_waiters(Some(&topic), 1000)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_on_one_file_claim_a_suspension_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stem.db");
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(open(&path, "stem").await);
    }
    for round in 0..10u64 {
        let id = waiting(&stores[0], "t", 10).await;
        let mut claimers = Vec::new();
        for k in 0..8u64 {
            let store = stores[k as usize % stores.len()].clone();
            let id = id.clone();
            claimers.push(tokio::spawn(async move {
                store
                    .wf_claim(&id, 2, &format!("waker{k}"), 100 + round * 10 + k, now_ms())
                    .await
                    .expect("wf_claim")
            }));
        }
        let mut wins = 0;
        for c in claimers {
            wins += matches!(c.await.unwrap(), Claim::Claimed { .. }) as u32;
        }
        assert_eq!(wins, 1, "round {round}: one resume per suspension");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_keep_their_runs_apart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stem.db");
    let a = open(&path, "a").await;
    let b = open(&path, "b").await;
    let id = waiting(&a, "shared.topic", 3).await;
    assert!(b.wf_get(&id).await.unwrap().is_none());
    assert!(b.wf_steps(&id).await.unwrap().is_empty());
    assert!(b.wf_counts().await.unwrap().is_empty());
    assert!(b.wf_waiters(None, 10).await.unwrap().is_empty());
    assert!(b
        .wf_emit("shared.topic", "{}", now_ms())
        .await
        .unwrap()
        .is_empty());
    // The same id started in the other namespace is a run of its own.
    let mut twin = new_run("other");
    twin.id = id.clone();
    assert!(b.wf_start(&twin).await.unwrap().1);
    assert_eq!(
        a.wf_waiters(Some("shared.topic"), 10).await.unwrap().len(),
        1
    );
    assert_eq!(
        a.wf_emit("shared.topic", "{}", now_ms())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        b.wf_get(&id).await.unwrap().unwrap().workflow,
        "other",
        "the emit in `a` left `b`'s run alone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generations_past_i64_max_compare_as_u64() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir.path().join("stem.db"), "stem").await;
    let run = new_run("big");
    store.wf_start(&run).await.unwrap();
    let high = (1u64 << 63) + 5;
    let claim = store
        .wf_claim(&run.id, 1, "r1", high, now_ms())
        .await
        .unwrap();
    let Claim::Claimed { run: claimed, .. } = claim else {
        panic!("a first claim wins: {claim:?}")
    };
    assert_eq!(claimed.generation, high);
    assert_eq!(
        store.wf_claim(&run.id, 1, "r1", 9, now_ms()).await.unwrap(),
        Claim::Stale,
        "a small generation is below one past i64::MAX"
    );
    let got = store.wf_get(&run.id).await.unwrap().unwrap();
    assert_eq!(got.generation, high, "stored and read back whole");
    let claim = store
        .wf_claim(&run.id, 1, "r1", high + 1, now_ms())
        .await
        .unwrap();
    assert!(matches!(claim, Claim::Claimed { .. }), "{claim:?}");
    let after = store
        .wf_rewind(&run.id, 0, now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.generation, high + 2, "a rewind raises it by one");
    assert!(store
        .wf_finish(&run.id, Some(high + 1), RunState::Completed, None, now_ms())
        .await
        .unwrap()
        .is_none());
}
