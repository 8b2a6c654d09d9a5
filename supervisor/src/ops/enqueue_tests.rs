//! Tests of building and publishing envelopes.

use super::*;
use crate::ops::results::{self, WaitOutcome};
use crate::ops::tests::memory;
use crate::ops::OpsErrorKind;
use stem_protocol::TaskRecord;

fn manifest(dir: &Path) -> LoadedManifest {
    let path = dir.join("stem.toml");
    std::fs::write(
        &path,
        "[tasks.mail]\nexec = [\"true\"]\nqueue = \"emails\"\n\n[tasks.other]\nexec = [\"true\"]\n",
    )
    .expect("write manifest");
    LoadedManifest::load(&path).expect("manifest loads")
}

#[test]
fn the_manifest_routes_and_refuses_unknown_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = manifest(dir.path());
    let env = envelope(&EnqueueOptions::new("mail"), Some(&m)).expect("known task");
    assert_eq!(env.queue, "emails");
    let mut options = EnqueueOptions::new("mail");
    options.queue = Some("urgent".into());
    assert_eq!(envelope(&options, Some(&m)).expect("ok").queue, "urgent");

    let err = envelope(&EnqueueOptions::new("nope"), Some(&m)).expect_err("unknown");
    assert_eq!(err.kind(), OpsErrorKind::BadInput);
    let text = err.to_string();
    assert!(text.starts_with("unknown task \"nope\": "), "{text}");
    assert!(text.ends_with("names mail, other"), "{text}");
    // Without a manifest any name goes, to the default queue.
    assert_eq!(
        envelope(&EnqueueOptions::new("nope"), None)
            .expect("no manifest")
            .queue,
        "default"
    );
}

#[test]
fn options_become_the_envelope() {
    let mut options = EnqueueOptions::new("t");
    options.id = Some("fixed".into());
    options.priority = 7;
    options.start = Start::After(Duration::from_secs(60));
    options.headers.insert("k".into(), "v".into());
    let before = now_ms();
    let env = envelope(&options, None).expect("valid");
    assert_eq!((env.id.as_str(), env.priority), ("fixed", 7));
    assert_eq!(env.headers.get("k").map(String::as_str), Some("v"));
    let tp = env.headers.get("traceparent").expect("a traceparent");
    assert!(TraceParent::parse(tp).is_some(), "{tp}");
    let eta = env.eta.expect("delayed");
    assert!(eta >= before + 60_000 && eta <= now_ms() + 60_000, "{eta}");

    options.priority = 10;
    let err = envelope(&options, None).expect_err("priority above 9");
    assert!(matches!(err, OpsError::InvalidEnvelope(_)), "{err}");
}

#[tokio::test]
async fn a_published_task_is_fetched_and_its_result_awaited() {
    let adapters = memory("enqueue-publish").await;
    let env = envelope(&EnqueueOptions::new("t"), None).expect("valid");
    let sent = publish(&adapters, None, &env).await.expect("published");
    assert_eq!(sent.state, TaskState::Pending);
    assert_eq!(results::get(&adapters, &sent.id).await.expect("get"), None);

    let got = adapters
        .broker
        .fetch(
            "w",
            &["default".into()],
            10,
            Duration::from_secs(30),
            Duration::from_secs(5),
        )
        .await
        .expect("fetch");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].task().map(|t| t.id.as_str()), Some(sent.id.as_str()));

    // A worker finishing the task wakes the waiter.
    let worker = adapters.clone();
    let finisher = tokio::spawn(async move {
        let mut record = TaskRecord::pending(&env);
        record.state = TaskState::Success;
        record.result = Some(serde_json::json!(42));
        worker
            .backend
            .set(&[record], Duration::from_secs(60))
            .await
            .expect("set");
    });
    let outcome = results::wait(&adapters, &sent.id, Some(Duration::from_secs(10)))
        .await
        .expect("wait");
    finisher.await.expect("finisher");
    match outcome {
        WaitOutcome::Finished { record } => {
            assert_eq!(record.state, TaskState::Success);
            assert_eq!(record.result, Some(serde_json::json!(42)));
        }
        other => panic!("not finished: {other:?}"),
    }
}

#[tokio::test]
async fn copies_get_fresh_ids() {
    let adapters = memory("enqueue-copies").await;
    let env = envelope(&EnqueueOptions::new("t"), None).expect("valid");
    let done = publish_copies(&adapters, &env, 1500)
        .await
        .expect("published");
    assert_eq!(done.published, 1500);
    let counts = adapters.admin.counts("default").await.expect("counts");
    assert_eq!(counts.ready, 1500);
}
