//! Contract cases for the schedule store: definitions (create, replace keeping state, list,
//! delete), the beat lock (fencing token, renewal, takeover after expiry, release, a stale
//! leader refused) and fire claims (unique per `(schedule, fire time)` across concurrent
//! claimers, fenced, counted in the schedule's state).

use crate::util::*;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::connect::Store;
use stem_adapters::{ScheduleState, StateUpdate};
use stem_protocol::schedule::{Schedule, Spec};

const KEEP: Duration = Duration::from_secs(3600);
const LOCK: Duration = Duration::from_secs(60);

fn every(id: &str, secs: u64) -> Schedule {
    let mut s = Schedule::new(
        id,
        "tick",
        Spec::Every {
            every_ms: secs * 1000,
            anchor: None,
        },
    );
    s.since = 1_000;
    s
}

/// Schedules are created, read, listed by id, replaced (keeping their state) and deleted.
pub async fn schedule_crud(store: Arc<dyn Store>) {
    for id in ["b", "a", "c"] {
        store.put_schedule(&every(id, 5)).await.expect("put");
    }
    let got = store
        .get_schedule("a")
        .await
        .expect("get")
        .expect("a stored");
    assert_eq!(got.schedule, every("a", 5));
    assert_eq!(
        got.state,
        ScheduleState::default(),
        "a new schedule has no state"
    );
    assert!(store.get_schedule("nope").await.expect("get").is_none());
    let ids: Vec<String> = store
        .list_schedules()
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.schedule.id)
        .collect();
    assert_eq!(ids, ["a", "b", "c"], "listed by id");

    let token = store
        .acquire_leader("beat-1", LOCK)
        .await
        .expect("acquire")
        .expect("free lock");
    assert!(store
        .claim_fire("a", 5_000, token, KEEP)
        .await
        .expect("claim"));
    let mut changed = every("a", 7);
    changed.enabled = false;
    store.put_schedule(&changed).await.expect("replace");
    let got = store.get_schedule("a").await.expect("get").expect("a");
    assert_eq!(got.schedule, changed, "the definition is replaced");
    assert_eq!(
        (got.state.last_fire, got.state.run_count),
        (Some(5_000), 1),
        "a replaced definition keeps its state"
    );

    assert!(store.delete_schedule("a").await.expect("delete"));
    assert!(!store.delete_schedule("a").await.expect("delete twice"));
    assert!(store.get_schedule("a").await.expect("get").is_none());
    assert_eq!(store.list_schedules().await.expect("list").len(), 2);
    store.put_schedule(&every("a", 5)).await.expect("put again");
    let again = store.get_schedule("a").await.expect("get").expect("a");
    assert_eq!(
        again.state,
        ScheduleState::default(),
        "delete drops the state"
    );
}

/// One holder at a time: the holder keeps its token while it renews, others get nothing.
pub async fn leader_lock_and_renewal(store: Arc<dyn Store>) {
    assert!(
        store.leader().await.expect("leader").is_none(),
        "no leader yet"
    );
    let t1 = store
        .acquire_leader("a", LOCK)
        .await
        .expect("acquire")
        .expect("a takes the free lock");
    assert_eq!(
        store.acquire_leader("a", LOCK).await.expect("again"),
        Some(t1),
        "the holder keeps its token"
    );
    assert_eq!(
        store.acquire_leader("b", LOCK).await.expect("b"),
        None,
        "b waits while a's lease runs"
    );
    assert!(store.renew_leader("a", t1, LOCK).await.expect("renew"));
    assert!(
        !store.renew_leader("b", t1, LOCK).await.expect("renew b"),
        "only the holder renews"
    );
    assert!(
        !store.renew_leader("a", t1 + 1, LOCK).await.expect("renew"),
        "a wrong token renews nothing"
    );
    let leader = store.leader().await.expect("leader").expect("a leads");
    assert_eq!((leader.holder.as_str(), leader.token), ("a", t1));

    store.release_leader("b", t1).await.expect("release by b");
    assert_eq!(store.acquire_leader("b", LOCK).await.expect("b"), None);
    store.release_leader("a", t1).await.expect("release");
    let t2 = store
        .acquire_leader("b", LOCK)
        .await
        .expect("acquire")
        .expect("b takes the released lock");
    assert!(t2 > t1, "a new holder's token is larger: {t2} after {t1}");
}

/// A lease that is not renewed ends: another holder takes over with a larger token, and the
/// old leader's renewals, claims and state updates are refused.
pub async fn leader_takeover_refuses_stale_leader(store: Arc<dyn Store>) {
    store.put_schedule(&every("s", 1)).await.expect("put");
    let old = store
        .acquire_leader("frozen", SHORT_LEASE)
        .await
        .expect("acquire")
        .expect("free lock");
    assert!(store
        .claim_fire("s", 1_000, old, KEEP)
        .await
        .expect("claim"));
    let s = store.clone();
    let new = eventually("takeover after the lease", || {
        let s = s.clone();
        async move { s.acquire_leader("fresh", LOCK).await.expect("acquire") }
    })
    .await;
    assert!(new > old, "takeover token {new} is larger than {old}");
    assert!(
        !store
            .renew_leader("frozen", old, LOCK)
            .await
            .expect("renew"),
        "the stale leader cannot renew"
    );
    assert!(
        !store
            .claim_fire("s", 2_000, old, KEEP)
            .await
            .expect("claim"),
        "the stale leader's claim is refused"
    );
    let update = StateUpdate {
        next_fire: Some(9_000),
        last_error: Some("stale".into()),
        ..Default::default()
    };
    assert!(
        !store.update_state("s", old, &update).await.expect("update"),
        "the stale leader's state update is refused"
    );
    assert!(store
        .claim_fire("s", 2_000, new, KEEP)
        .await
        .expect("claim"));
    let got = store.get_schedule("s").await.expect("get").expect("s");
    assert_eq!(got.state.last_fire, Some(2_000));
    assert_eq!(got.state.run_count, 2);
    assert_eq!(got.state.last_error, None, "nothing of the stale update");
    assert_eq!(
        store.leader().await.expect("leader").map(|l| l.holder),
        Some("fresh".to_string())
    );
}

/// Many claimers of the same fires at once (as beats racing a takeover would): each
/// `(schedule, fire time)` is won exactly once, and the run count says so.
pub async fn claims_unique_across_concurrent_claimers(store: Arc<dyn Store>) {
    store.put_schedule(&every("s", 1)).await.expect("put");
    let token = store
        .acquire_leader("a", LOCK)
        .await
        .expect("acquire")
        .expect("free lock");
    let fires: Vec<i64> = (1..=5).map(|i| i * 1_000).collect();
    let mut claimers = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        let fires = fires.clone();
        claimers.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for fire in fires {
                if store
                    .claim_fire("s", fire, token, KEEP)
                    .await
                    .expect("claim")
                {
                    won.push(fire);
                }
            }
            won
        }));
    }
    let mut won = Vec::new();
    for c in claimers {
        won.extend(c.await.expect("claimer"));
    }
    won.sort_unstable();
    assert_eq!(won, fires, "every fire claimed exactly once");
    let state = store
        .get_schedule("s")
        .await
        .expect("get")
        .expect("s")
        .state;
    assert_eq!((state.last_fire, state.run_count), (Some(5_000), 5));
    assert!(
        !store
            .claim_fire("s", 3_000, token, KEEP)
            .await
            .expect("claim"),
        "a claimed fire stays claimed"
    );
    assert!(
        store
            .claim_fire("other", 3_000, token, KEEP)
            .await
            .expect("claim"),
        "claims are per schedule"
    );
}

/// The state a beat keeps: claims raise `last_fire` and count runs; updates set the next fire
/// and last error, raise (never lower) `last_fire` for skipped fires, and keep the drift when
/// they carry none.
pub async fn schedule_state_fields(store: Arc<dyn Store>) {
    store.put_schedule(&every("s", 1)).await.expect("put");
    let token = store
        .acquire_leader("a", LOCK)
        .await
        .expect("acquire")
        .expect("free lock");
    assert!(store
        .claim_fire("s", 5_000, token, KEEP)
        .await
        .expect("claim"));
    assert!(store
        .claim_fire("s", 3_000, token, KEEP)
        .await
        .expect("claim"));
    let update = StateUpdate {
        skipped_to: None,
        next_fire: Some(6_000),
        last_error: Some("broker unreachable".into()),
        drift_ms: Some(42),
    };
    assert!(store
        .update_state("s", token, &update)
        .await
        .expect("update"));
    let state = store
        .get_schedule("s")
        .await
        .expect("get")
        .expect("s")
        .state;
    assert_eq!(
        state,
        ScheduleState {
            last_fire: Some(5_000),
            next_fire: Some(6_000),
            run_count: 2,
            last_error: Some("broker unreachable".into()),
            drift_ms: Some(42),
        },
        "an older claim does not lower last_fire"
    );
    let skip = StateUpdate {
        skipped_to: Some(9_000),
        next_fire: Some(10_000),
        ..Default::default()
    };
    assert!(store.update_state("s", token, &skip).await.expect("update"));
    let lower = StateUpdate {
        skipped_to: Some(1_000),
        next_fire: Some(10_000),
        ..Default::default()
    };
    assert!(store
        .update_state("s", token, &lower)
        .await
        .expect("update"));
    let state = store
        .get_schedule("s")
        .await
        .expect("get")
        .expect("s")
        .state;
    assert_eq!(
        state.last_fire,
        Some(9_000),
        "skipped_to raises, never lowers"
    );
    assert_eq!(state.next_fire, Some(10_000));
    assert_eq!(state.last_error, None, "cleared");
    assert_eq!(state.drift_ms, Some(42), "kept without a new drift");
    assert_eq!(state.run_count, 2, "skips are not runs");
    assert!(
        !store
            .update_state("nope", token, &skip)
            .await
            .expect("update"),
        "an unknown schedule is not updated"
    );
}
