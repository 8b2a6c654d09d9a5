//! Contract cases for dead letters: moving a delivery there, listing, replay and purge.

use crate::util::*;
use std::sync::Arc;
use stem_adapters::connect::Store;
use stem_adapters::{DeadLetter, Delivery, Payload};
use stem_protocol::{now_ms, TaskError};

/// The dead letter a supervisor would write for `delivery`.
pub(crate) fn letter_for(delivery: &Delivery, reason: &str) -> DeadLetter {
    DeadLetter {
        id: delivery.task_id(),
        queue: delivery.queue.clone(),
        envelope: delivery.task().cloned(),
        raw: None,
        reason: reason.to_string(),
        error: Some(TaskError::new("ValueError", "bad input")),
        sealed_error: None,
        dead_at: now_ms(),
        replay_count: 0,
        replayed_at: None,
    }
}

async fn dead_letter_n(store: &Arc<dyn Store>, queue: &str, n: usize) -> Vec<DeadLetter> {
    let batch: Vec<_> = (0..n).map(|i| task(queue, &format!("t{i}"))).collect();
    store.publish(&batch).await.expect("publish");
    let mut letters = Vec::new();
    // One at a time, so "oldest first" has one meaning.
    for i in 0..n {
        let got = fetch_now(store, "c1", queue, 1, LONG_LEASE).await;
        assert_eq!(got.len(), 1, "fetch task {i}");
        let letter = letter_for(&got[0], &format!("reason {i}"));
        store
            .dead_letter(&got[0], &letter)
            .await
            .expect("dead letter");
        letters.push(letter);
    }
    letters
}

/// Asking for "all of them" (`usize::MAX`, as the CLI does) works on every backend.
pub async fn dead_letters_unbounded_limit(store: Arc<dyn Store>) {
    dead_letter_n(&store, "q", 3).await;
    let listed = store
        .dead_letters("q", usize::MAX)
        .await
        .expect("dead_letters with usize::MAX");
    assert_eq!(listed.len(), 3, "every dead letter listed");
}

/// A dead-lettered delivery leaves the queue and is listed with everything it was given.
pub async fn dead_letter_is_listed(store: Arc<dyn Store>) {
    let letters = dead_letter_n(&store, "q", 1).await;
    let c = store.counts("q").await.expect("counts");
    assert_eq!(
        (c.ready, c.leased, c.dead),
        (0, 0, 1),
        "moved to the dead letters"
    );
    assert!(
        fetch_now(&store, "c1", "q", 10, LONG_LEASE)
            .await
            .is_empty(),
        "a dead letter is not fetchable"
    );
    let listed = store.dead_letters("q", 10).await.expect("dead_letters");
    assert_eq!(listed.len(), 1, "one dead letter");
    let got = &listed[0];
    let want = &letters[0];
    assert_eq!(got.id, want.id, "dead letter keeps the task id");
    assert_eq!(got.queue, "q");
    assert_eq!(
        got.envelope, want.envelope,
        "dead letter keeps the envelope"
    );
    assert_eq!(got.reason, want.reason, "dead letter keeps the reason");
    assert_eq!(got.error, want.error, "dead letter keeps the error");
    assert_eq!(got.dead_at, want.dead_at, "dead letter keeps dead_at");
    assert!(
        store
            .dead_letters("other", 10)
            .await
            .expect("dead_letters")
            .is_empty(),
        "dead letters belong to their queue"
    );
    assert!(
        store
            .queues()
            .await
            .expect("queues")
            .contains(&"q".to_string()),
        "a queue holding dead letters is listed"
    );
}

/// Dead letters list oldest first and respect the limit.
pub async fn dead_letters_oldest_first_with_limit(store: Arc<dyn Store>) {
    let letters = dead_letter_n(&store, "q", 5).await;
    let listed = store.dead_letters("q", 3).await.expect("dead_letters");
    let got: Vec<_> = listed.iter().map(|l| l.id.clone()).collect();
    let want: Vec<_> = letters[..3].iter().map(|l| l.id.clone()).collect();
    assert_eq!(got, want, "the 3 oldest dead letters, oldest first");
    assert_eq!(
        store.counts("q").await.expect("counts").dead,
        5,
        "five dead"
    );
}

/// Replay removes the dead letter and publishes the envelope, keeping its id.
pub async fn replay_dead_letter(store: Arc<dyn Store>) {
    let letters = dead_letter_n(&store, "q", 2).await;
    let mut env = letters[0].envelope.clone().expect("envelope");
    env.attempt = 1;
    env.headers.insert("replayed".into(), "1".into());
    let replayed = store
        .replay_dead_letter("q", &letters[0].id, &env)
        .await
        .expect("replay");
    assert!(replayed, "replay of an existing dead letter returns true");
    let left: Vec<_> = store
        .dead_letters("q", 10)
        .await
        .expect("dead_letters")
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(
        left,
        [letters[1].id.clone()],
        "only the replayed letter is gone"
    );
    let got = fetch_now(&store, "c1", "q", 10, LONG_LEASE).await;
    assert_eq!(got.len(), 1, "the replayed task is fetchable");
    assert_eq!(got[0].task_id(), letters[0].id, "replay keeps the task id");
    assert_eq!(
        got[0].payload,
        Payload::Task(Box::new(env.clone())),
        "the given envelope"
    );
    let again = store
        .replay_dead_letter("q", &letters[0].id, &env)
        .await
        .expect("replay");
    assert!(!again, "a second replay of the same id finds nothing");
    let missing = store
        .replay_dead_letter("q", "no-such-id", &env)
        .await
        .expect("replay");
    assert!(!missing, "replay of a missing id returns false");
    let wrong_queue = store
        .replay_dead_letter("other", &letters[1].id, &env)
        .await
        .expect("replay");
    assert!(!wrong_queue, "replay looks only in the queue it names");
}

/// Purge deletes every dead letter of the queue and says how many.
pub async fn purge_dead_letters(store: Arc<dyn Store>) {
    dead_letter_n(&store, "q", 3).await;
    dead_letter_n(&store, "keep", 1).await;
    assert_eq!(
        store.purge_dead_letters("q").await.expect("purge"),
        3,
        "purged 3"
    );
    assert!(
        store
            .dead_letters("q", 10)
            .await
            .expect("dead_letters")
            .is_empty(),
        "nothing left after purge"
    );
    assert_eq!(
        store.counts("q").await.expect("counts").dead,
        0,
        "dead count 0"
    );
    assert_eq!(
        store
            .dead_letters("keep", 10)
            .await
            .expect("dead_letters")
            .len(),
        1,
        "purge leaves other queues alone"
    );
    assert_eq!(
        store.purge_dead_letters("q").await.expect("purge"),
        0,
        "empty purge"
    );
}
