//! Contract cases for the result backend: set, get, overwrite, waiting for a terminal state,
//! listing with filters,
//! and expiry after the TTL.

use crate::util::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::connect::Store;
use stem_protocol::{now_ms, TaskEnvelope, TaskRecord, TaskState};

const KEEP: Duration = Duration::from_secs(3600);

fn record(state: TaskState) -> TaskRecord {
    let mut record = TaskRecord::pending(&TaskEnvelope::new("add"));
    record.state = state;
    record
}

fn finished(mut record: TaskRecord, value: serde_json::Value) -> TaskRecord {
    record.state = TaskState::Success;
    record.result = Some(value);
    record.finished_at = Some(now_ms());
    record.updated_at = now_ms();
    record
}

/// Records round-trip, a later set replaces the whole record, unknown ids are `None`.
pub async fn result_set_get_overwrite(store: Arc<dyn Store>) {
    let a = record(TaskState::Pending);
    let mut b = record(TaskState::Started);
    b.worker = Some("w1".into());
    b.progress = Some(serde_json::json!({"done": 3}));
    store.set(&[a.clone(), b.clone()], KEEP).await.expect("set");
    assert_eq!(
        store.get(&a.id).await.expect("get"),
        Some(a.clone()),
        "a round-trips"
    );
    assert_eq!(
        store.get(&b.id).await.expect("get"),
        Some(b.clone()),
        "b round-trips"
    );
    let done = finished(a.clone(), serde_json::json!([1, 2]));
    store
        .set(std::slice::from_ref(&done), KEEP)
        .await
        .expect("set");
    assert_eq!(
        store.get(&a.id).await.expect("get"),
        Some(done),
        "a later set replaces the record"
    );
    assert_eq!(
        store.get("no-such-task").await.expect("get"),
        None,
        "unknown id"
    );
    stem_adapters::ResultBackend::ping(store.as_ref())
        .await
        .expect("result backend ping");
}

/// `wait` returns as soon as another task writes a terminal record.
pub async fn result_wait_wakes_on_terminal(store: Arc<dyn Store>) {
    let started = record(TaskState::Started);
    store
        .set(std::slice::from_ref(&started), KEEP)
        .await
        .expect("set");
    let waiter = {
        let store = store.clone();
        let id = started.id.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let got = store.wait(&id, Duration::from_secs(8)).await.expect("wait");
            (got, start.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut retry = started.clone();
    retry.state = TaskState::Retry;
    store
        .set(std::slice::from_ref(&retry), KEEP)
        .await
        .expect("set");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let done = finished(started, serde_json::json!(42));
    store
        .set(std::slice::from_ref(&done), KEEP)
        .await
        .expect("set");
    let (got, elapsed) = waiter.await.expect("waiter");
    assert_eq!(got, Some(done), "wait returns the terminal record");
    assert!(
        elapsed < Duration::from_secs(3),
        "wait must wake on the terminal write, took {elapsed:?}"
    );
}

/// At the timeout `wait` returns the latest (non-terminal) record, or `None` for no record;
/// an already terminal record returns at once.
pub async fn result_wait_timeout(store: Arc<dyn Store>) {
    let started = record(TaskState::Started);
    store
        .set(std::slice::from_ref(&started), KEEP)
        .await
        .expect("set");
    let start = Instant::now();
    let got = store
        .wait(&started.id, Duration::from_millis(300))
        .await
        .expect("wait");
    assert_not_before("wait timeout", start.elapsed(), Duration::from_millis(300));
    assert_eq!(got, Some(started), "the non-terminal record at the timeout");

    let start = Instant::now();
    let none = store
        .wait("no-such-task", Duration::from_millis(200))
        .await
        .expect("wait");
    assert_eq!(none, None, "no record at the timeout");
    assert_not_before(
        "wait for nothing",
        start.elapsed(),
        Duration::from_millis(200),
    );

    let done = finished(record(TaskState::Started), serde_json::json!("ok"));
    store
        .set(std::slice::from_ref(&done), KEEP)
        .await
        .expect("set");
    let start = Instant::now();
    let got = store
        .wait(&done.id, Duration::from_secs(8))
        .await
        .expect("wait");
    assert_eq!(got, Some(done), "terminal record");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "waiting on a terminal record must return at once"
    );
}

/// A record is gone after its TTL.
pub async fn result_ttl_expires(store: Arc<dyn Store>) {
    let short = record(TaskState::Success);
    let long = record(TaskState::Success);
    store
        .set(std::slice::from_ref(&short), Duration::from_millis(300))
        .await
        .expect("set");
    store
        .set(std::slice::from_ref(&long), KEEP)
        .await
        .expect("set");
    assert!(
        store.get(&short.id).await.expect("get").is_some(),
        "present before TTL"
    );
    let store2 = store.clone();
    let id = short.id.clone();
    eventually("record past its TTL", || {
        let store = store2.clone();
        let id = id.clone();
        async move { store.get(&id).await.expect("get").is_none().then_some(()) }
    })
    .await;
    assert!(
        store.get(&long.id).await.expect("get").is_some(),
        "long TTL kept"
    );
}

/// `list` returns the kept records newest first, filtered by state, name, queue and time,
/// capped at the limit, with their args and kwargs.
pub async fn result_list_filters(store: Arc<dyn Store>) {
    use stem_adapters::RecordFilter;
    let base = now_ms();
    let mut records = Vec::new();
    for (i, (name, queue, state)) in [
        ("add", "default", TaskState::Success),
        ("add", "default", TaskState::Failure),
        ("mail", "emails", TaskState::Failure),
        ("mail", "emails", TaskState::Started),
    ]
    .into_iter()
    .enumerate()
    {
        let mut env = TaskEnvelope::new(name);
        env.queue = queue.into();
        env.args = vec![serde_json::json!(i)];
        env.kwargs.insert("k".into(), serde_json::json!("v"));
        let mut r = TaskRecord::pending(&env);
        r.state = state;
        r.updated_at = base + i as i64 * 10;
        records.push(r);
    }
    store.set(&records, KEEP).await.expect("set");
    let ids = |got: Vec<TaskRecord>| got.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let all = store.list(&RecordFilter::default()).await.expect("list");
    let want: Vec<String> = records.iter().rev().map(|r| r.id.clone()).collect();
    assert_eq!(ids(all.clone()), want, "every record, newest first");
    assert_eq!(
        all[3], records[0],
        "a listed record is whole, args and kwargs too"
    );
    let failed = RecordFilter {
        state: Some(TaskState::Failure),
        ..Default::default()
    };
    assert_eq!(
        ids(store.list(&failed).await.expect("list")),
        [records[2].id.clone(), records[1].id.clone()],
        "by state"
    );
    let mail_failed = RecordFilter {
        name: Some("mail".into()),
        ..failed.clone()
    };
    assert_eq!(
        ids(store.list(&mail_failed).await.expect("list")),
        [records[2].id.clone()],
        "by state and name"
    );
    let default_queue = RecordFilter {
        queue: Some("default".into()),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(
        ids(store.list(&default_queue).await.expect("list")),
        [records[1].id.clone()],
        "by queue, at most the limit"
    );
    let recent = RecordFilter {
        since: Some(base + 20),
        ..Default::default()
    };
    assert_eq!(
        ids(store.list(&recent).await.expect("list")),
        [records[3].id.clone(), records[2].id.clone()],
        "updated since"
    );
    let nothing = RecordFilter {
        name: Some("no-such-task".into()),
        ..Default::default()
    };
    assert!(store.list(&nothing).await.expect("list").is_empty());
}

/// `list` pages: following each page's last record as the cursor walks every matching record
/// exactly once, newest first, ties (the same `updated_at`) by the larger id first — however the
/// pages fall across the ties.
pub async fn result_list_pages(store: Arc<dyn Store>) {
    use stem_adapters::backend::RecordCursor;
    use stem_adapters::RecordFilter;
    let base = now_ms();
    let mut records = Vec::new();
    for i in 0..23 {
        let mut env = TaskEnvelope::new("page");
        env.queue = "paged".into();
        let mut r = TaskRecord::pending(&env);
        r.state = if i % 4 == 0 {
            TaskState::Failure
        } else {
            TaskState::Success
        };
        r.updated_at = base + (i / 3) as i64 * 10;
        records.push(r);
    }
    store.set(&records, KEEP).await.expect("set");
    let mut want = records.clone();
    want.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
    for (state, size) in [
        (None, 4),
        (None, 1),
        (None, 3),
        (Some(TaskState::Failure), 2),
    ] {
        let expected: Vec<String> = want
            .iter()
            .filter(|r| state.is_none_or(|s| r.state == s))
            .map(|r| r.id.clone())
            .collect();
        let mut got: Vec<String> = Vec::new();
        let mut filter = RecordFilter {
            queue: Some("paged".into()),
            state,
            limit: size,
            ..Default::default()
        };
        loop {
            let page = store.list(&filter).await.expect("list a page");
            assert!(page.len() <= size, "a page holds at most the limit");
            let Some(last) = page.last() else { break };
            filter.after = Some(RecordCursor::after(last));
            got.extend(page.iter().map(|r| r.id.clone()));
            assert!(got.len() <= expected.len(), "no record listed twice");
        }
        assert_eq!(
            got, expected,
            "pages of {size} ({state:?}) walk every record once, in order"
        );
    }
    let cursor = RecordCursor::after(&want[5]);
    assert_eq!(
        RecordCursor::parse(&cursor.to_string()),
        Ok(cursor),
        "a cursor reads back as written"
    );
    assert!(RecordCursor::parse("nope").is_err());
    assert!(RecordCursor::parse("-1:x").is_err());
    assert!(RecordCursor::parse("12:").is_err());
}

/// `delete_finished` deletes finished records only: a running task's record, an unknown id and
/// an id given twice are left alone, and a deleted record is gone from `get` and `list`.
pub async fn result_delete_finished(store: Arc<dyn Store>) {
    use stem_adapters::RecordFilter;
    let mut records = Vec::new();
    for state in [TaskState::Success, TaskState::Failure, TaskState::Started] {
        let mut env = TaskEnvelope::new("gone");
        env.queue = "deleting".into();
        let mut r = TaskRecord::pending(&env);
        r.state = state;
        records.push(r);
    }
    store.set(&records, KEEP).await.expect("set");
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let mut asked = ids.clone();
    asked.push("no-such-task".into());
    asked.push(ids[0].clone());
    let mut deleted = store.delete_finished(&asked).await.expect("delete");
    deleted.sort();
    let mut want = vec![ids[0].clone(), ids[1].clone()];
    want.sort();
    assert_eq!(deleted, want, "the finished records, each once");
    assert!(store.get(&ids[0]).await.expect("get").is_none());
    assert!(store.get(&ids[1]).await.expect("get").is_none());
    assert_eq!(
        store.get(&ids[2]).await.expect("get").map(|r| r.state),
        Some(TaskState::Started),
        "a running task's record stays"
    );
    let listed = store
        .list(&RecordFilter {
            queue: Some("deleting".into()),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(
        listed.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        [ids[2].clone()]
    );
    assert!(store.delete_finished(&[]).await.expect("none").is_empty());
}
