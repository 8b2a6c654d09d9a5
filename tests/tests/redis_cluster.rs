//! `stem worker` and `stem enqueue` on a private three-master Redis Cluster
//! (`redis+cluster://`): tasks on three queues (spread over the shards) run once each,
//! `enqueue --wait` returns the outcome, a retry goes back through its queue, a chain whose
//! nodes are on different queues runs in order (its follow-ups cross shards through the
//! outbox), and `stem health` reports the broker up; and a worker frozen past its lease, whose
//! task another worker took over and finished, has its late commit refused (the cluster's
//! lease check before the records' slot is written). Skips when `redis-server` is not
//! installed.

use serde_json::{json, Value};
use stem_e2e::frozen::{self, a_log};
use stem_e2e::outcomes::{assert_consistent, stale_commit_lines};
use stem_e2e::redis_cluster::Cluster;
use stem_e2e::{unique_namespace, wait_for, Env, PATIENCE};

/// `note` appends its id and queue to `ran.txt`; `flaky` fails on its first attempt.
const MANIFEST: &str = r#"[tasks.note]
exec = ["sh", "-c", "echo $STEM_TASK_ID >> ran.txt"]
max_retries = 0

[tasks.flaky]
exec = ["sh", "-c", "test -f tried || { touch tried; exit 3; }; echo second"]
max_retries = 2
retry = { backoff = "fixed", base = "100ms", jitter = false }
"#;

fn ran(env: &Env) -> Vec<String> {
    env.read("ran.txt").lines().map(str::to_string).collect()
}

#[test]
fn worker_and_enqueue_work_on_a_redis_cluster() {
    let Some(cluster) = Cluster::start("worker_and_enqueue_work_on_a_redis_cluster") else {
        return;
    };
    let env = Env::with_broker(MANIFEST, &cluster.url(), &unique_namespace());
    let queues = ["q1", "q2", "q3"];
    let ids: Vec<String> = (0..9)
        .map(|i| env.enqueue("note", &["--queue", queues[i % 3]]))
        .collect();
    let _worker = env.worker(&["--queues", "q1,q2,q3", "--concurrency", "2"]);
    for id in &ids {
        let record = env.outcome(id);
        assert_eq!(
            record["state"],
            "success",
            "{record}\n{}",
            env.worker_logs()
        );
    }
    let mut seen = ran(&env);
    seen.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(seen, want, "each task ran once");

    let out = env.stem(&["enqueue", "note", "--queue", "q2", "--wait", "--json"]);
    let record = out.success().json();
    assert_eq!(record["state"], "success", "{record}");

    let id = env.enqueue("flaky", &["--queue", "q3"]);
    let record = env.outcome(id.as_str());
    assert_eq!(record["state"], "success", "retried: {record}");
    assert_eq!(record["attempt"], 2, "{record}");

    let chain = json!({"chain": [
        {"task": "note", "options": {"queue": "q1"}},
        {"task": "note", "options": {"queue": "q3"}},
        {"task": "note", "options": {"queue": "q2"}}
    ]});
    env.write("chain.json", &chain.to_string());
    let out = env.stem(&[
        "canvas",
        "submit",
        "chain.json",
        "--wait",
        "--timeout",
        "60",
        "--json",
    ]);
    let view: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("no view ({e}): {out:?}\n{}", env.worker_logs()));
    let done = wait_for(PATIENCE, || ran(&env).len() == ids.len() + 4);
    assert!(done, "the chain's three nodes ran: {view}\n{:?}", ran(&env));

    let health = env.stem(&["health", "--json"]).success().json();
    assert_eq!(health["broker"]["status"]["ok"], true, "{health}");
    assert_eq!(health["ok"], true, "{health}");
}

#[test]
fn a_frozen_workers_late_success_is_refused_on_a_redis_cluster() {
    let Some(cluster) = Cluster::start("a_frozen_workers_late_success_is_refused_on_a_cluster")
    else {
        return;
    };
    let env = Env::with_broker(
        &frozen::manifest("1", 0),
        &cluster.url(),
        &unique_namespace(),
    );
    let mut f = frozen::run(&env, 0);
    let record = env.record(&f.id);
    assert_eq!(
        record["worker"],
        "b",
        "a's late commit won: {record}\n{}",
        a_log(&f)
    );
    assert_eq!(record["state"], "success", "{record}");
    let lines = stale_commit_lines(&f.a.log(), &f.id, "a", "b");
    assert!(
        !lines.is_empty(),
        "no stale commit logged by a\n{}",
        a_log(&f)
    );
    let records = assert_consistent(&env, std::slice::from_ref(&f.id), "default");
    assert_eq!(records[&f.id]["state"], "success");
    f.a.assert_alive();
    f.b.assert_alive();
}
