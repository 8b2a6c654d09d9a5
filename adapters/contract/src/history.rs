//! Contract cases for the per-minute stats history: adds to a minute sum (as from many
//! workers), listings start at a minute and run oldest first, minutes past the retention go.

use std::collections::BTreeMap;
use std::sync::Arc;
use stem_adapters::connect::Store;
use stem_adapters::history::HISTORY_KEEP_MS;
use stem_adapters::minute_of;
use stem_protocol::now_ms;

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Adds to one minute sum, zero counts are left out, and `since` picks the later minutes.
pub async fn history_minutes_sum_and_list(store: Arc<dyn Store>) {
    let now = minute_of(now_ms());
    let (a, b) = (now - 120_000, now - 60_000);
    assert!(store.minutes(0).await.expect("minutes").is_empty());
    store
        .add_minute(a, &counts(&[("succeeded", 3), ("failed", 1)]))
        .await
        .expect("add");
    store
        .add_minute(a, &counts(&[("succeeded", 2), ("retried", 0)]))
        .await
        .expect("add from another worker");
    store
        .add_minute(b, &counts(&[("failed", 4)]))
        .await
        .expect("add");
    let all = store.minutes(0).await.expect("minutes");
    let got: Vec<(i64, BTreeMap<String, u64>)> =
        all.into_iter().map(|m| (m.minute, m.counts)).collect();
    assert_eq!(
        got,
        [
            (a, counts(&[("failed", 1), ("succeeded", 5)])),
            (b, counts(&[("failed", 4)]))
        ]
    );
    let later = store.minutes(b).await.expect("minutes since b");
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].minute, b);
}

/// A minute older than the retention is dropped by the next add.
pub async fn history_drops_old_minutes(store: Arc<dyn Store>) {
    let now = minute_of(now_ms());
    let old = now - HISTORY_KEEP_MS - 120_000;
    store
        .add_minute(old, &counts(&[("succeeded", 1)]))
        .await
        .expect("add old");
    store
        .add_minute(now, &counts(&[("succeeded", 1)]))
        .await
        .expect("add now");
    let minutes: Vec<i64> = store
        .minutes(0)
        .await
        .expect("minutes")
        .into_iter()
        .map(|m| m.minute)
        .collect();
    assert_eq!(minutes, [now], "the old minute is gone");
}
