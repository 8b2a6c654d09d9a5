//! Issue 26, the transactional outbox for a Redis broker as docs/postgres.md describes it: the
//! application enqueues with `OUTBOX.enqueue(...)` in its Postgres transaction; a worker on the
//! outbox namespace forwards each task to Redis with `stem enqueue --id` (the same id); the
//! Redis fleet runs it. A rolled-back outbox enqueue reaches Redis never; a committed one runs
//! once there, under its id.
//! Runs when both `STEM_TEST_REDIS_URL` and `STEM_TEST_POSTGRES_URL` are set.

use stem_e2e::pg::psql;
use stem_e2e::{service_url, stem_bin, unique_namespace, Env};

const REDIS_MANIFEST: &str = r#"[tasks.send_receipt]
exec = ["sh", "-c", "echo \"$STEM_TASK_ID $STEM_ARGS\" >> ran.txt; echo \"$STEM_ARGS\""]
max_retries = 0
"#;

/// The outbox worker's manifest: `send_receipt` forwards to Redis under the same id.
fn outbox_manifest(redis: &str, redis_ns: &str) -> String {
    let stem = stem_bin();
    format!(
        r#"[tasks.send_receipt]
exec = ["sh", "-c", "exec {stem} enqueue send_receipt --args \"$STEM_ARGS\" --id \"$STEM_TASK_ID\" --json"]
env = {{ STEM_BROKER_URL = "{redis}", STEM_NAMESPACE = "{redis_ns}" }}
max_retries = 5
"#,
        stem = stem.display()
    )
}

#[test]
fn redis_outbox_forwards_committed_sql_enqueues_once_and_rolled_back_ones_never() {
    let test = "redis_outbox_forwards_committed_sql_enqueues_once_and_rolled_back_ones_never";
    let (Some(redis), Some(postgres)) = (
        service_url("STEM_TEST_REDIS_URL", test),
        service_url("STEM_TEST_POSTGRES_URL", test),
    ) else {
        return;
    };
    let redis_ns = unique_namespace();
    let outbox_ns = format!("{}_outbox", unique_namespace());
    let fleet = Env::with_broker(REDIS_MANIFEST, &redis, &redis_ns);
    let outbox = Env::with_broker(&outbox_manifest(&redis, &redis_ns), &postgres, &outbox_ns);
    outbox.stem(&["migrate"]).success();
    let _forwarder = outbox.worker(&["--concurrency", "1"]);
    let _fleet = fleet.worker(&["--concurrency", "1"]);

    psql(
        &postgres,
        &format!(
            "BEGIN; SELECT {outbox_ns}.enqueue('send_receipt', '[1]', \
             options => '{{\"id\": \"receipt-1\"}}'); ROLLBACK;"
        ),
    );
    psql(
        &postgres,
        &format!(
            "BEGIN; SELECT {outbox_ns}.enqueue('send_receipt', '[2]', \
             options => '{{\"id\": \"receipt-2\"}}'); COMMIT;"
        ),
    );
    let ran = fleet.outcome("receipt-2");
    assert_eq!(ran["state"], "success", "{ran}");
    assert_eq!(ran["result"], serde_json::json!([2]), "{ran}");
    let forwarded = outbox.outcome("receipt-2");
    assert_eq!(forwarded["state"], "success", "{forwarded}");
    // One task at a time, in order, on both sides: had receipt-1 been committed it would have
    // been forwarded and run first.
    assert_eq!(fleet.read("ran.txt"), "receipt-2 [2]\n");
    assert_eq!(fleet.record("receipt-1")["state"], "unknown");
    assert_eq!(outbox.record("receipt-1")["state"], "unknown");
}
