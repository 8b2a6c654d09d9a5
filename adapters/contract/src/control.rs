//! Contract cases for the control plane: commands and replies, heartbeats, and the task event
//! stream with its cursors.

use crate::util::*;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;
use stem_adapters::{ControlReply, ControlRequest, Heartbeat, TaskEvent};
use stem_protocol::now_ms;

fn request(command: &str, target: Option<&str>, sent_at: i64) -> ControlRequest {
    ControlRequest {
        id: uuid::Uuid::new_v4().to_string(),
        command: command.to_string(),
        args: json!({}),
        target: target.map(str::to_string),
        sent_at,
    }
}

fn reply(request_id: &str, worker: &str) -> ControlReply {
    ControlReply {
        request_id: request_id.to_string(),
        worker: worker.to_string(),
        reply: json!({"ok": worker}),
        at: now_ms(),
    }
}

fn heartbeat(worker: &str, at: i64) -> Heartbeat {
    Heartbeat {
        worker: worker.to_string(),
        host: "host".into(),
        pid: 42,
        queues: vec!["default".into()],
        in_flight: 1,
        version: "0.1.0".into(),
        started_at: at - 1000,
        at,
        stats: json!({"processed": 3}),
    }
}

fn event(n: usize) -> TaskEvent {
    TaskEvent {
        kind: "succeeded".into(),
        task_id: format!("t{n}"),
        name: "add".into(),
        queue: "default".into(),
        worker: "w1".into(),
        at: now_ms(),
        data: json!({"n": n}),
        sealed: None,
    }
}

/// Requests reach the worker they target (or all), only those sent after `since`, in order.
pub async fn control_requests_by_target_and_since(store: Arc<dyn Store>) {
    let now = now_ms();
    let before = request("ping", None, now - 60_000);
    let all = request("ping", None, now);
    let mine = request("stats", Some("w1"), now + 1);
    let theirs = request("shutdown", Some("w2"), now + 2);
    for r in [&before, &all, &mine, &theirs] {
        store.send(r).await.expect("send");
    }
    let got = store
        .requests("w1", now - 30_000, NO_WAIT)
        .await
        .expect("requests");
    assert_eq!(
        got,
        [all.clone(), mine],
        "w1 gets broadcasts and its own, after since"
    );
    let got = store
        .requests("w2", now - 30_000, NO_WAIT)
        .await
        .expect("requests");
    assert_eq!(got, [all, theirs], "w2 gets broadcasts and its own");
    let got = store
        .requests("w3", now + 10, NO_WAIT)
        .await
        .expect("requests");
    assert!(got.is_empty(), "nothing sent after since");
}

/// A waiting `requests` returns promptly when a command is sent.
pub async fn control_requests_wait(store: Arc<dyn Store>) {
    let since = now_ms() - 1;
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let got = store.requests("w1", since, Duration::from_secs(8)).await;
            (got.expect("requests"), start.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = request("ping", None, now_ms());
    store.send(&r).await.expect("send");
    let (got, elapsed) = waiter.await.expect("waiter");
    assert_eq!(got, [r], "the waiting worker gets the command");
    assert!(
        elapsed < Duration::from_secs(3),
        "requests must wake on send, took {elapsed:?}"
    );
}

/// Replies are gathered per request; `expect` returns early, otherwise the timeout ends it.
pub async fn control_replies_gather(store: Arc<dyn Store>) {
    let r = request("ping", None, now_ms());
    store.send(&r).await.expect("send");
    let gatherer = {
        let store = store.clone();
        let id = r.id.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let got = store.replies(&id, Some(2), Duration::from_secs(8)).await;
            (got.expect("replies"), start.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    store
        .reply(&reply("other-request", "w9"))
        .await
        .expect("reply");
    store.reply(&reply(&r.id, "w1")).await.expect("reply");
    store.reply(&reply(&r.id, "w2")).await.expect("reply");
    let (got, elapsed) = gatherer.await.expect("gatherer");
    let mut workers: Vec<_> = got.iter().map(|x| x.worker.clone()).collect();
    workers.sort();
    assert_eq!(workers, ["w1", "w2"], "replies to this request only");
    assert!(
        elapsed < Duration::from_secs(3),
        "expect=2 returns early, took {elapsed:?}"
    );

    store.reply(&reply(&r.id, "w3")).await.expect("reply");
    let start = Instant::now();
    let got = store
        .replies(&r.id, None, Duration::from_millis(300))
        .await
        .expect("replies");
    assert_not_before(
        "replies without expect",
        start.elapsed(),
        Duration::from_millis(300),
    );
    assert_eq!(got.len(), 3, "all replies gathered until the timeout");
    let w3 = got.iter().find(|x| x.worker == "w3").expect("w3 replied");
    assert_eq!(*w3, reply_like(w3, &r.id, "w3"), "a reply round-trips");
}

fn reply_like(got: &ControlReply, request_id: &str, worker: &str) -> ControlReply {
    ControlReply {
        request_id: request_id.to_string(),
        worker: worker.to_string(),
        reply: json!({"ok": worker}),
        at: got.at,
    }
}

/// `workers` lists the latest heartbeat of each worker until its TTL passes.
pub async fn control_heartbeats(store: Arc<dyn Store>) {
    let now = now_ms();
    let long = Duration::from_secs(3600);
    store
        .heartbeat(&heartbeat("w1", now - 10), long)
        .await
        .expect("heartbeat");
    store
        .heartbeat(&heartbeat("w2", now), long)
        .await
        .expect("heartbeat");
    let latest = heartbeat("w1", now);
    store.heartbeat(&latest, long).await.expect("heartbeat");
    store
        .heartbeat(&heartbeat("brief", now), Duration::from_millis(300))
        .await
        .expect("heartbeat");
    let mut got = store.workers().await.expect("workers");
    got.sort_by(|a, b| a.worker.cmp(&b.worker));
    let names: Vec<_> = got.iter().map(|h| h.worker.as_str()).collect();
    assert_eq!(names, ["brief", "w1", "w2"], "one entry per worker");
    assert_eq!(got[1], latest, "the latest heartbeat of w1");
    let s = store.clone();
    eventually("heartbeat past its TTL", || {
        let s = s.clone();
        async move {
            let got = s.workers().await.expect("workers");
            got.iter().all(|h| h.worker != "brief").then_some(())
        }
    })
    .await;
    assert_eq!(
        store.workers().await.expect("workers").len(),
        2,
        "w1 and w2 stay"
    );
}

/// Event cursors: `Some("0")` reads from the start, `None` only new events, and the returned
/// cursor continues where the last read stopped.
pub async fn control_event_cursors(store: Arc<dyn Store>) {
    store
        .emit(&[event(0), event(1), event(2)])
        .await
        .expect("emit");
    let (got, cursor) = store.events(Some("0"), 2, NO_WAIT).await.expect("events");
    assert_eq!(got.len(), 2, "events from \"0\" with limit 2");
    assert_eq!(
        got,
        [event_like(&got[0], 0), event_like(&got[1], 1)],
        "first two"
    );
    let (got, cursor) = store
        .events(Some(&cursor), 10, NO_WAIT)
        .await
        .expect("events");
    assert_eq!(got.len(), 1, "the third continues after the cursor");
    assert_eq!(got[0].task_id, "t2");
    let (got, cursor) = store
        .events(Some(&cursor), 10, NO_WAIT)
        .await
        .expect("events");
    assert!(got.is_empty(), "nothing after the last");

    let (got, fresh) = store.events(None, 10, NO_WAIT).await.expect("events");
    assert!(got.is_empty(), "None skips the events already emitted");
    store.emit(&[event(3)]).await.expect("emit");
    let (got, _) = store
        .events(Some(&fresh), 10, NO_WAIT)
        .await
        .expect("events");
    let tasks: Vec<_> = got.iter().map(|e| e.task_id.as_str()).collect();
    assert_eq!(
        tasks,
        ["t3"],
        "the cursor from None continues with new events only"
    );
    let (got, _) = store
        .events(Some(&cursor), 10, NO_WAIT)
        .await
        .expect("events");
    assert_eq!(got.len(), 1, "an older cursor sees the new event too");
}

fn event_like(got: &TaskEvent, n: usize) -> TaskEvent {
    TaskEvent {
        at: got.at,
        ..event(n)
    }
}

/// A waiting `events` returns promptly when an event is emitted.
pub async fn control_events_wait(store: Arc<dyn Store>) {
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let got = store.events(None, 10, Duration::from_secs(8)).await;
            (got.expect("events"), start.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    store.emit(&[event(7)]).await.expect("emit");
    let ((got, _), elapsed) = waiter.await.expect("waiter");
    let tasks: Vec<_> = got.iter().map(|e| e.task_id.as_str()).collect();
    assert_eq!(tasks, ["t7"], "the waiting reader gets the new event");
    assert!(
        elapsed < Duration::from_secs(3),
        "events must wake on emit, took {elapsed:?}"
    );
}
