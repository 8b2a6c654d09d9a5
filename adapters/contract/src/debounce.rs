//! Contract cases for debounce bursts (`FlowControl::debounce_*`): one burst per key while it
//! is not due, the latest payload kept, `max_wait` capping the due, one id under racing puts,
//! and a take that waits, then hands the payload until the burst is done.

use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;
use stem_adapters::{DebouncePut, DebounceTake};

const LONG: Duration = Duration::from_secs(60);

async fn put(store: &Arc<dyn Store>, key: &str, id: &str, payload: &str) -> DebouncePut {
    store
        .debounce_put(key, id, payload, LONG, None)
        .await
        .expect("debounce put")
}

/// Takes until the answer is not `Wait`, within 10 s.
async fn take_when_due(store: &Arc<dyn Store>, key: &str, id: &str) -> DebounceTake {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = store.debounce_take(key, id).await.expect("debounce take");
        if !matches!(got, DebounceTake::Wait(_)) || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first put opens a burst of its own id, due a window later.
pub async fn debounce_one_put(store: Arc<dyn Store>) {
    let got = put(&store, "k", "a", "p1").await;
    assert_eq!(got.id, "a", "the first enqueue's id is the burst's");
    assert!(got.first, "the first enqueue opens the burst");
    let now = stem_protocol::now_ms();
    assert!(
        got.due > now + 50_000 && got.due < now + 70_000,
        "due a window (60 s) after the put, got {} (now {now})",
        got.due
    );
}

/// Later puts join the burst: same id, not first, due pushed back, the last payload kept.
pub async fn debounce_puts_push_due_and_keep_the_last_payload(store: Arc<dyn Store>) {
    let first = put(&store, "k", "a", "p1").await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let second = put(&store, "k", "b", "p2").await;
    let third = put(&store, "k", "c", "p3").await;
    assert_eq!((second.id.as_str(), second.first), ("a", false));
    assert_eq!((third.id.as_str(), third.first), ("a", false));
    assert!(
        second.due > first.due,
        "a later enqueue pushes the due back"
    );
    let other = put(&store, "other", "z", "q").await;
    assert!(other.first, "another key has its own burst");
    // A short window: the burst comes due and hands the latest payload.
    let short = Duration::from_millis(100);
    store
        .debounce_put("s", "s1", "x1", short, None)
        .await
        .expect("put");
    store
        .debounce_put("s", "s2", "x2", short, None)
        .await
        .expect("put");
    assert_eq!(
        take_when_due(&store, "s", "s1").await,
        DebounceTake::Take("x2".into()),
        "the run gets the last enqueue's payload"
    );
}

/// `max_wait` caps the due however often the burst is enqueued; after it, a new burst opens.
pub async fn debounce_max_wait_caps_the_due(store: Arc<dyn Store>) {
    let window = Duration::from_millis(1000);
    let cap = Some(Duration::from_millis(1500));
    let first = store
        .debounce_put("k", "a", "p0", window, cap)
        .await
        .expect("put");
    let mut last = first.clone();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1000) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        last = store
            .debounce_put("k", "b", "p", window, cap)
            .await
            .expect("put");
        assert_eq!(
            last.id, "a",
            "within the window and max_wait: the same burst"
        );
    }
    assert!(
        last.due <= first.due - 1000 + 1500,
        "due {} is past the first enqueue + max_wait ({} - 1000 + 1500)",
        last.due,
        first.due
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let later = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let got = store
            .debounce_put("k", "c", "p9", window, cap)
            .await
            .expect("put");
        if got.id != "a" || Instant::now() > deadline {
            break got;
        }
    };
    assert_eq!(
        (later.id.as_str(), later.first),
        ("c", true),
        "after max_wait a new burst opens"
    );
    assert!(
        matches!(take_when_due(&store, "k", "a").await, DebounceTake::Take(_)),
        "the capped burst still runs"
    );
}

/// Eight producers racing on one key all get one burst id, and exactly one of them is first.
pub async fn debounce_concurrent_puts_one_id(store: Arc<dyn Store>) {
    let puts: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = format!("t{n}");
                store
                    .debounce_put("race", &id, &format!("p{n}"), LONG, None)
                    .await
                    .expect("put")
            })
        })
        .collect();
    let mut got = Vec::new();
    for p in puts {
        got.push(p.await.expect("joined"));
    }
    let ids: std::collections::BTreeSet<_> = got.iter().map(|g| g.id.clone()).collect();
    assert_eq!(ids.len(), 1, "one burst for racing enqueues, got {ids:?}");
    assert_eq!(got.iter().filter(|g| g.first).count(), 1, "one first");
}

/// Before its due a take says wait; after, it hands the payload (again for a redelivery) and
/// later puts open a new burst; once done the burst is gone.
pub async fn debounce_take_waits_then_hands_the_payload(store: Arc<dyn Store>) {
    assert_eq!(
        store.debounce_take("k", "nope").await.expect("take"),
        DebounceTake::Gone,
        "no burst: gone"
    );
    let window = Duration::from_millis(200);
    let put = store
        .debounce_put("k", "a", "p1", window, None)
        .await
        .expect("put");
    match store.debounce_take("k", "a").await.expect("take") {
        DebounceTake::Wait(due) => assert_eq!(due, put.due, "waits until the burst's due"),
        other => panic!("a take before the due must wait, got {other:?}"),
    }
    assert_eq!(
        store.debounce_take("other", "a").await.expect("take"),
        DebounceTake::Gone,
        "a burst answers only for its own key"
    );
    assert_eq!(
        take_when_due(&store, "k", "a").await,
        DebounceTake::Take("p1".into())
    );
    let next = store
        .debounce_put("k", "b", "p2", window, None)
        .await
        .expect("put");
    assert_eq!(
        (next.id.as_str(), next.first),
        ("b", true),
        "a taken burst takes no more enqueues"
    );
    assert_eq!(
        store.debounce_take("k", "a").await.expect("take"),
        DebounceTake::Take("p1".into()),
        "a redelivery of a taken burst gets its payload again"
    );
    store.debounce_done("k", "a").await.expect("done");
    assert_eq!(
        store.debounce_take("k", "a").await.expect("take"),
        DebounceTake::Gone,
        "a done burst is gone"
    );
    assert!(
        matches!(
            store.debounce_take("k", "b").await.expect("take"),
            DebounceTake::Wait(_)
        ),
        "the new burst is untouched"
    );
}
