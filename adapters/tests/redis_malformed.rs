//! Garbage written straight into a queue stream comes out as `Payload::Malformed` with a reason,
//! never as an error, and fetching carries on with the good tasks behind it.

#![cfg(feature = "redis")]

mod redis_support;

use redis_support::{fresh_namespace, open, raw, redis_url};
use std::time::Duration;
use stem_adapters::{DeadLetter, Payload};
use stem_protocol::{now_ms, TaskEnvelope};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_entries_are_delivered_as_malformed() {
    let Some(url) = redis_url("garbage_entries_are_delivered_as_malformed") else {
        return;
    };
    let ns = fresh_namespace();
    let store = open(&url, &ns).await;
    let queues = vec!["default".to_string()];
    // Create the group first, as a running worker would have.
    store
        .fetch("c", &queues, 1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    let stream = format!("{ns}:q:default:p0");
    let mut conn = raw(&url).await;
    let entries: [&[(&str, &[u8])]; 4] = [
        &[("e", b"not json")],
        &[("e", br#"{"id":"x","name":"","created_at":1}"#)],
        &[("other", b"field")],
        &[("e", &[0xff, 0xfe, 0x00])],
    ];
    for fields in entries {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&stream).arg("*");
        for (k, v) in fields {
            cmd.arg(*k).arg(*v);
        }
        cmd.exec_async(&mut conn).await.unwrap();
    }
    let good = TaskEnvelope::new("fine");
    store.publish(std::slice::from_ref(&good)).await.unwrap();

    let got = store
        .fetch("c", &queues, 10, Duration::from_secs(30), Duration::ZERO)
        .await
        .expect("malformed entries never fail a fetch");
    assert_eq!(got.len(), 5);
    let reasons: Vec<&str> = got[..4]
        .iter()
        .map(|d| match &d.payload {
            Payload::Malformed { reason, .. } => reason.as_str(),
            Payload::Task(t) => panic!("garbage parsed as task {t:?}"),
        })
        .collect();
    assert!(
        reasons[0].contains("malformed task envelope"),
        "{}",
        reasons[0]
    );
    assert!(reasons[1].contains("empty task name"), "{}", reasons[1]);
    assert!(reasons[2].contains("no `e` field"), "{}", reasons[2]);
    assert!(reasons[3].contains("not UTF-8"), "{}", reasons[3]);
    match &got[0].payload {
        Payload::Malformed { raw, .. } => assert_eq!(raw, "not json"),
        _ => unreachable!(),
    }
    assert_eq!(got[4].task(), Some(&good));

    // The supervisor dead-letters malformed deliveries; that works like for any other.
    let bad = &got[0];
    let letter = DeadLetter {
        id: bad.task_id(),
        queue: "default".into(),
        envelope: None,
        raw: Some("not json".into()),
        reason: "malformed envelope".into(),
        error: None,
        sealed_error: None,
        dead_at: now_ms(),
        replay_count: 0,
        replayed_at: None,
    };
    store.dead_letter(bad, &letter).await.unwrap();
    store.ack(&got[1..]).await.unwrap();
    let counts = store.counts("default").await.unwrap();
    assert_eq!((counts.ready, counts.leased, counts.dead), (0, 0, 1));
    assert_eq!(store.dead_letters("default", 10).await.unwrap(), [letter]);
}
