//! The beat loop on the in-memory store, driven by a fake clock: catch-up after an outage
//! (`latest` fires once, `all` each missed time, `none` none) and a frozen leader that resumes
//! after another took over publishes nothing twice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use stem::beat::fire::Routes;
use stem::beat::{Beat, BeatConfig, Clock};
use stem_adapters::connect::Store;
use stem_adapters::{ConnectOptions, Payload};
use stem_protocol::schedule::{CatchUp, Schedule, Spec, FIRE_TIME_HEADER};

struct FakeClock(AtomicI64);

impl Clock for FakeClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn store() -> Arc<dyn Store> {
    stem_adapters::memory::open("memory://beat", &ConnectOptions::default())
}

fn beat(store: &Arc<dyn Store>, name: &str, clock: &Arc<FakeClock>, ttl: Duration) -> Beat {
    let mut config = BeatConfig::new(name);
    config.lock_ttl = ttl;
    Beat::new(
        store.clone(),
        store.clone(),
        Routes::new(None),
        config,
        clock.clone(),
    )
}

fn every_second(id: &str, catch_up: CatchUp) -> Schedule {
    let mut s = Schedule::new(
        id,
        "tick",
        Spec::Every {
            every_ms: 1000,
            anchor: Some(0),
        },
    );
    s.catch_up = catch_up;
    s.since = 1;
    s
}

/// Fire times published so far, with how often each was.
async fn published(store: &Arc<dyn Store>) -> BTreeMap<String, usize> {
    let got = store
        .fetch(
            "t",
            &["default".into()],
            10_000,
            Duration::from_secs(60),
            Duration::ZERO,
        )
        .await
        .expect("fetch");
    let mut out = BTreeMap::new();
    for d in got {
        let Payload::Task(env) = &d.payload else {
            panic!("malformed")
        };
        *out.entry(format!(
            "{}/{}",
            env.headers["stem-schedule"], env.headers[FIRE_TIME_HEADER]
        ))
        .or_default() += 1;
        store.ack(&[d]).await.expect("ack");
    }
    out
}

#[tokio::test]
async fn catch_up_after_an_outage_follows_each_policy() {
    let store = store();
    for (id, policy) in [
        ("all", CatchUp::All),
        ("latest", CatchUp::Latest),
        ("none", CatchUp::None),
    ] {
        store.put_schedule(&every_second(id, policy)).await.unwrap();
    }
    let clock = Arc::new(FakeClock(AtomicI64::new(1_000)));
    let mut b = beat(&store, "b", &clock, Duration::from_secs(60));
    for t in 1..=5 {
        clock.0.store(t * 1000 + 100, Ordering::SeqCst);
        b.tick().await;
    }
    let before = published(&store).await;
    assert_eq!(before.len(), 15, "each on time: {before:?}");
    assert!(before.values().all(|n| *n == 1));
    // Ten seconds without a tick (the beat was down), then back at 15.1 s.
    clock.0.store(15_100, Ordering::SeqCst);
    b.tick().await;
    let after = published(&store).await;
    let of = |id: &str| -> Vec<&String> {
        after
            .keys()
            .filter(|k| k.starts_with(&format!("{id}/")))
            .collect()
    };
    assert_eq!(
        of("all").len(),
        10,
        "all: each missed time (6..=15 s): {after:?}"
    );
    assert_eq!(
        of("latest"),
        ["latest/1970-01-01T00:00:15Z"],
        "latest: one fire"
    );
    assert_eq!(
        of("none"),
        ["none/1970-01-01T00:00:15Z"],
        "none: only the on-time fire"
    );
    let state = store.get_schedule("none").await.unwrap().unwrap().state;
    assert_eq!(state.last_fire, Some(15_000));
    assert_eq!(state.run_count, 6);
    // Nothing is published twice on later ticks.
    b.tick().await;
    assert!(published(&store).await.is_empty());
}

#[tokio::test]
async fn a_frozen_leader_that_resumes_publishes_nothing_twice() {
    let store = store();
    store
        .put_schedule(&every_second("s", CatchUp::All))
        .await
        .unwrap();
    let clock = Arc::new(FakeClock(AtomicI64::new(1_100)));
    let ttl = Duration::from_millis(300);
    let mut a = beat(&store, "a", &clock, ttl);
    let mut b = beat(&store, "b", &clock, ttl);
    a.tick().await;
    b.tick().await;
    assert!(a.is_leader() && !b.is_leader());
    // `a` freezes; `b` takes over once the lease is gone and fires 2..=4 s.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    for t in 2..=4 {
        clock.0.store(t * 1000 + 100, Ordering::SeqCst);
        b.tick().await;
    }
    assert!(b.is_leader());
    // `a` resumes, still believing it leads, and ticks with a stale token.
    a.tick().await;
    a.tick().await;
    assert!(!a.is_leader(), "the stale leader notices");
    let got = published(&store).await;
    let want: Vec<String> = (1..=4)
        .map(|s| format!("s/1970-01-01T00:00:0{s}Z"))
        .collect();
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), want);
    assert!(got.values().all(|n| *n == 1), "{got:?}");
}
