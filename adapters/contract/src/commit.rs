//! Contract cases of the one commit path: a commit applies its record, action and follow-ups
//! together or, when its lease is no longer current, nothing at all; records are fenced by
//! generation; generations only grow. The split-store path (`stem_adapters::commit::commit` over
//! a broker and a backend that are not one store) is run on each backend by passing the same
//! store as both with `shared` off.

use crate::util::*;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::connect::Store;
use stem_adapters::{Action, Adapters, Commit, Delivery, Verdict};
use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};

const KEEP: Duration = Duration::from_secs(600);

fn record_of(d: &Delivery, state: TaskState, worker: &str) -> TaskRecord {
    let env = d.task().expect("a task delivery");
    let mut r = TaskRecord::pending(env);
    r.state = state;
    r.generation = d.generation;
    r.worker = Some(worker.to_string());
    r
}

/// One task fetched by `old` with a short lease, then taken over by `new`.
async fn taken_over(store: &Arc<dyn Store>, queue: &str) -> (TaskEnvelope, Delivery, Delivery) {
    let env = task(queue, "contended");
    store
        .publish(std::slice::from_ref(&env))
        .await
        .expect("publish");
    let stale = fetch_now(store, "old", queue, 1, SHORT_LEASE).await;
    assert_eq!(stale.len(), 1, "fetched");
    let fresh = fetch_until_some(store, "new", queue, 1, LONG_LEASE, "take over").await;
    (env, stale[0].clone(), fresh[0].clone())
}

fn split(store: &Arc<dyn Store>) -> Adapters {
    Adapters {
        broker: store.clone(),
        admin: store.clone(),
        backend: store.clone(),
        revokes: store.clone(),
        control: store.clone(),
        flow: store.clone(),
        schedules: store.clone(),
        history: store.clone(),
        workflows: store.clone(),
        shared: false,
    }
}

/// A commit with a record writes it and acks the delivery in one step; waiters wake.
pub async fn commit_records_and_acks(store: Arc<dyn Store>) {
    let env = task("q", "work");
    store
        .publish(std::slice::from_ref(&env))
        .await
        .expect("publish");
    let got = fetch_now(&store, "w", "q", 1, LONG_LEASE).await;
    let mut record = record_of(&got[0], TaskState::Success, "w");
    record.result = Some(serde_json::json!(42));
    let c = Commit::new(got[0].clone(), Some(record), Action::Ack);
    let v = store.commit(&[c], Some(KEEP)).await.expect("commit");
    assert_eq!(v, [Verdict::Applied]);
    let back = store.get(&env.id).await.expect("get").expect("a record");
    assert_eq!(back.state, TaskState::Success);
    assert_eq!(back.result, Some(serde_json::json!(42)));
    assert_eq!(
        back.generation, got[0].generation,
        "the record keeps its generation"
    );
    let waited = store
        .wait(&env.id, Duration::from_secs(1))
        .await
        .expect("wait");
    assert_eq!(waited.map(|r| r.state), Some(TaskState::Success));
    let c = store.counts("q").await.expect("counts");
    assert_eq!(c.ready + c.leased + c.delayed, 0, "acked: {c:?}");
}

/// A stale commit writes no record, acks nothing, publishes nothing, names the new owner; the
/// new owner's commit then applies.
pub async fn stale_commit_is_rejected_whole(store: Arc<dyn Store>) {
    let (env, stale, fresh) = taken_over(&store, "q").await;
    assert!(fresh.generation > stale.generation, "generations grow");
    let mut c = Commit::new(
        stale.clone(),
        Some(record_of(&stale, TaskState::Success, "old")),
        Action::Ack,
    );
    c.follow_ups.push(task("q2", "follow"));
    let v = store.commit(&[c], Some(KEEP)).await.expect("commit");
    assert_eq!(
        v,
        [Verdict::Stale {
            owner: Some("new".into())
        }],
        "a stale commit is rejected and names the new owner"
    );
    assert_eq!(store.get(&env.id).await.expect("get"), None, "no record");
    let c = store.counts("q").await.expect("counts");
    assert_eq!(c.leased, 1, "the new owner's delivery stays: {c:?}");
    assert_eq!(
        store.counts("q2").await.expect("counts").ready,
        0,
        "no follow-up"
    );
    for action in [
        Action::Release {
            replacement: None,
            delay: Duration::ZERO,
        },
        Action::DeadLetter(Box::new(crate::dlq::letter_for(&stale, "stale"))),
    ] {
        let c = Commit::new(stale.clone(), None, action);
        let v = store.commit(&[c], Some(KEEP)).await.expect("commit");
        assert!(!v[0].is_applied(), "stale release/dead letter rejected");
    }
    let c = store.counts("q").await.expect("counts");
    assert_eq!(
        (c.ready, c.delayed, c.leased, c.dead),
        (0, 0, 1, 0),
        "{c:?}"
    );
    let ok = Commit::new(
        fresh.clone(),
        Some(record_of(&fresh, TaskState::Success, "new")),
        Action::Ack,
    );
    assert_eq!(
        store.commit(&[ok], Some(KEEP)).await.expect("commit"),
        [Verdict::Applied]
    );
    let back = store.get(&env.id).await.expect("get").expect("record");
    assert_eq!(back.worker.as_deref(), Some("new"));
}

/// Release and dead letter commit with their records; follow-ups go out with an applied commit.
pub async fn commit_release_dead_letter_follow_ups(store: Arc<dyn Store>) {
    let a = task("q", "a");
    let b = task("q", "b");
    store
        .publish(&[a.clone(), b.clone()])
        .await
        .expect("publish");
    let got = fetch_now(&store, "w", "q", 2, LONG_LEASE).await;
    assert_eq!(got.len(), 2);
    let (da, db) = if got[0].task_id() == a.id {
        (&got[0], &got[1])
    } else {
        (&got[1], &got[0])
    };
    let mut next = a.clone();
    next.attempt = 2;
    let release = Commit::new(
        da.clone(),
        Some(record_of(da, TaskState::Retry, "w")),
        Action::Release {
            replacement: Some(Box::new(next)),
            delay: Duration::ZERO,
        },
    );
    let mut dead = Commit::new(
        db.clone(),
        Some(record_of(db, TaskState::Failure, "w")),
        Action::DeadLetter(Box::new(crate::dlq::letter_for(db, "given up"))),
    );
    dead.follow_ups.push(task("q2", "on-error"));
    let v = store
        .commit(&[release, dead], Some(KEEP))
        .await
        .expect("commit");
    assert_eq!(v, [Verdict::Applied, Verdict::Applied]);
    let rec_a = store.get(&a.id).await.expect("get").expect("record");
    assert_eq!(rec_a.state, TaskState::Retry);
    let rec_b = store.get(&b.id).await.expect("get").expect("record");
    assert_eq!(rec_b.state, TaskState::Failure);
    let again = fetch_until_some(&store, "w", "q", 1, LONG_LEASE, "released").await;
    assert_eq!(
        again[0].task().map(|t| t.attempt),
        Some(2),
        "the next attempt"
    );
    let dlq = store.dead_letters("q", 10).await.expect("dead letters");
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].id, b.id);
    let follow = fetch_until_some(&store, "w", "q2", 1, LONG_LEASE, "follow-up").await;
    assert_eq!(follow[0].task().map(|t| t.name.as_str()), Some("on-error"));
}

/// A record replaces a stored one only when its generation is no older.
pub async fn records_fenced_by_generation(store: Arc<dyn Store>) {
    let env = TaskEnvelope::new("t");
    let mut newer = TaskRecord::pending(&env);
    newer.generation = 2_000;
    newer.state = TaskState::Success;
    newer.worker = Some("new".into());
    let mut older = newer.clone();
    older.generation = 1_000;
    older.state = TaskState::Failure;
    older.worker = Some("old".into());
    assert_eq!(
        store.set(&[newer.clone()], KEEP).await.expect("set"),
        [true]
    );
    assert_eq!(
        store.set(&[older], KEEP).await.expect("set"),
        [false],
        "an older generation must not overwrite a newer record"
    );
    let back = store.get(&env.id).await.expect("get").expect("record");
    assert_eq!(back.worker.as_deref(), Some("new"));
    let mut same = newer.clone();
    same.progress = Some(serde_json::json!(1));
    assert_eq!(
        store.set(&[same], KEEP).await.expect("set"),
        [true],
        "same generation writes"
    );
    let fresh = TaskRecord::pending(&TaskEnvelope::new("u"));
    assert_eq!(store.set(&[fresh], KEEP).await.expect("set"), [true]);
}

/// Every lease of a task has a greater generation than the one before: after a takeover and
/// after a release.
pub async fn generations_grow(store: Arc<dyn Store>) {
    let (_, stale, fresh) = taken_over(&store, "q").await;
    assert!(fresh.generation > stale.generation);
    store
        .release(&fresh, None, Duration::ZERO)
        .await
        .expect("release");
    let again = fetch_until_some(&store, "w", "q", 1, LONG_LEASE, "released").await;
    assert!(again[0].generation > fresh.generation);
}

/// Broker and backend as two stores: a stale commit writes no record; a fresh one writes it and
/// acks; a record older than the stored one is refused even while its lease holds.
pub async fn split_store_commit_is_fenced(store: Arc<dyn Store>) {
    let adapters = split(&store);
    let (env, stale, fresh) = taken_over(&store, "q").await;
    let c = Commit::new(
        stale.clone(),
        Some(record_of(&stale, TaskState::Success, "old")),
        Action::Ack,
    );
    let v = stem_adapters::commit::commit(&adapters, &[c], KEEP, LONG_LEASE)
        .await
        .expect("commit");
    assert!(!v[0].is_applied(), "stale on the split path: {v:?}");
    assert_eq!(store.get(&env.id).await.expect("get"), None, "no record");
    // The new owner records progress at its generation; a record of an older one is refused.
    let started = record_of(&fresh, TaskState::Started, "new");
    assert_eq!(store.set(&[started], KEEP).await.expect("set"), [true]);
    let ok = Commit::new(
        fresh.clone(),
        Some(record_of(&fresh, TaskState::Success, "new")),
        Action::Ack,
    );
    let v = stem_adapters::commit::commit(&adapters, &[ok], KEEP, LONG_LEASE)
        .await
        .expect("commit");
    assert_eq!(v, [Verdict::Applied]);
    let back = store.get(&env.id).await.expect("get").expect("record");
    assert_eq!(
        (back.state, back.worker.as_deref()),
        (TaskState::Success, Some("new"))
    );
    let c = store.counts("q").await.expect("counts");
    assert_eq!(c.ready + c.leased + c.delayed, 0, "acked: {c:?}");
}
