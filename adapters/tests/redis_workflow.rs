//! The Redis `WorkflowStore` beyond the contract cases: generations above 2^53 compared exactly
//! (the scripts never pass them through a Lua double), ids and topics holding the scripts'
//! separators and hash-tag braces, waiters with equal `since` ordered and cut exactly, and no
//! waiter key left behind once a run's waiters are gone.

#![cfg(feature = "redis")]

mod redis_support;

use redis::AsyncCommands;
use redis_support::{fresh_namespace, open, raw, redis_url};
use stem_adapters::workflow::{Claim, RunFilter, RunState, Waiter, WfRun, WfStep};
use stem_protocol::workflow::{StepKind, StepState};

fn run(id: &str, workflow: &str, created_at: i64) -> WfRun {
    WfRun {
        id: id.to_string(),
        workflow: workflow.to_string(),
        version: 1,
        queue: "wf".to_string(),
        state: RunState::Running,
        data: "{}".to_string(),
        outcome: None,
        seq: 0,
        resume_id: None,
        generation: 0,
        created_at,
        updated_at: created_at,
        suspended_at: None,
        wake_at: None,
        finished_at: None,
    }
}

fn waiting_step(run: &str, index: u32) -> WfStep {
    WfStep {
        run: run.to_string(),
        index,
        name: format!("e{index}"),
        kind: StepKind::Event,
        state: StepState::Waiting,
        attempt: 1,
        data: None,
        started_at: 1,
        updated_at: 1,
        finished_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generations_above_two_to_the_53_are_compared_exactly() {
    let Some(url) = redis_url("generations_above_two_to_the_53_are_compared_exactly") else {
        return;
    };
    let store = open(&url, &fresh_namespace()).await;
    store.wf_start(&run("r", "w", 1)).await.unwrap();
    // 2^60 and 2^60 + 1 are the same double.
    let g = 1u64 << 60;
    let Claim::Claimed { run: got, .. } = store.wf_claim("r", 1, "a", g, 2).await.unwrap() else {
        panic!("the first claim holds the run")
    };
    assert_eq!(got.generation, g);
    assert!(matches!(
        store.wf_claim("r", 1, "a", g + 1, 3).await.unwrap(),
        Claim::Claimed { .. }
    ));
    assert_eq!(
        store.wf_claim("r", 1, "a", g, 4).await.unwrap(),
        Claim::Stale,
        "one below the stored generation"
    );
    let s = waiting_step("r", 0);
    assert!(!store.wf_write_step(g, &s).await.unwrap(), "fenced by one");
    assert!(store.wf_write_step(g + 1, &s).await.unwrap());
    let after = store.wf_rewind("r", 0, 5).await.unwrap().unwrap();
    assert_eq!(after.generation, g + 2, "raised by exactly one");
    assert!(store.wf_steps("r").await.unwrap().is_empty());
    assert_eq!(
        store
            .wf_claim("r", u64::MAX, "b", u64::MAX, 6)
            .await
            .unwrap(),
        Claim::Claimed {
            run: WfRun {
                state: RunState::Running,
                seq: u64::MAX,
                resume_id: Some("b".into()),
                generation: u64::MAX,
                updated_at: 6,
                ..after.clone()
            },
            previous: RunState::Suspended,
            steps: Vec::new(),
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_ids_and_topics_round_trip_and_leave_nothing_behind() {
    let Some(url) = redis_url("awkward_ids_and_topics_round_trip_and_leave_nothing_behind") else {
        return;
    };
    let ns = fresh_namespace();
    let store = open(&url, &ns).await;
    let ids = ["a|1", "{b}:2|", "c:3:", ""];
    let topics = ["t|x|", "", "{t}:y"];
    for (k, id) in ids.iter().enumerate() {
        store.wf_start(&run(id, "w|{x}", 10)).await.unwrap();
        assert!(matches!(
            store.wf_claim(id, 1, "r", 7, 11).await.unwrap(),
            Claim::Claimed { .. }
        ));
        for (i, topic) in topics.iter().enumerate() {
            let index = (i * 10 + k) as u32;
            assert!(store
                .wf_write_step(7, &waiting_step(id, index))
                .await
                .unwrap());
            let w = Waiter {
                topic: topic.to_string(),
                run: id.to_string(),
                index,
                deadline: (i != 1).then_some(99),
                since: 20,
            };
            assert!(store.wf_suspend(id, 7, None, Some(&w), 12).await.unwrap());
        }
    }
    let all = store.wf_waiters(None, 100).await.unwrap();
    assert_eq!(all.len(), ids.len() * topics.len());
    assert!(all
        .windows(2)
        .all(|p| (&p[0].run, p[0].index) <= (&p[1].run, p[1].index)));
    // Equal `since` everywhere: a cut keeps the first by run, then index.
    let cut = store.wf_waiters(None, 2).await.unwrap();
    assert_eq!(cut, all[..2].to_vec());
    let on_empty = store.wf_waiters(Some(""), 100).await.unwrap();
    assert_eq!(on_empty.len(), ids.len());
    assert!(on_empty
        .iter()
        .all(|w| w.topic.is_empty() && w.deadline.is_none()));
    let woken = store.wf_emit("t|x|", "{\"e\":1}", 30).await.unwrap();
    let mut runs: Vec<&str> = woken.iter().map(|w| w.run.as_str()).collect();
    runs.sort();
    assert_eq!(runs, ["", "a|1", "c:3:", "{b}:2|"]);
    assert!(woken.iter().all(|w| w.seq == 2 && w.workflow == "w|{x}"));
    assert_eq!(
        store.wf_steps("{b}:2|").await.unwrap()[0].data.as_deref(),
        Some("{\"e\":1}")
    );
    let listed = store
        .wf_list(&RunFilter {
            state: Some(RunState::Suspended),
            workflow: Some("w|{x}".into()),
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    let listed: Vec<&str> = listed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        listed,
        ["{b}:2|", "c:3:", "a|1", ""],
        "ties by id, newest first"
    );
    for id in ids {
        store
            .wf_finish(id, None, RunState::Cancelled, None, 40)
            .await
            .unwrap()
            .expect("ended");
    }
    assert!(store.wf_waiters(None, 100).await.unwrap().is_empty());
    let mut conn = raw(&url).await;
    let left: Vec<String> = conn
        .keys(format!("{ns}:wf:w*"))
        .await
        .expect("keys of the test namespace");
    assert!(left.is_empty(), "waiter keys left: {left:?}");
    let topic_keys: Vec<String> = conn.keys(format!("{ns}:wf:topic:*")).await.unwrap();
    assert!(topic_keys.is_empty(), "topic keys left: {topic_keys:?}");
    assert_eq!(
        store.wf_counts().await.unwrap(),
        vec![(RunState::Cancelled, ids.len() as u64)]
    );
}
