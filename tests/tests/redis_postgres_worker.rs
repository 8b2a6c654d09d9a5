//! Issue 6, the `redis_postgres_worker` shape: a Redis broker and a Postgres result backend in
//! one world; a task succeeds and `stem result --json` reads its record back from Postgres.
//! Runs when both `STEM_TEST_REDIS_URL` and `STEM_TEST_POSTGRES_URL` are set.

use stem_e2e::{service_url, unique_namespace, Env};

#[test]
fn redis_broker_with_postgres_backend_records_a_success() {
    let test = "redis_broker_with_postgres_backend_records_a_success";
    let (Some(redis), Some(postgres)) = (
        service_url("STEM_TEST_REDIS_URL", test),
        service_url("STEM_TEST_POSTGRES_URL", test),
    ) else {
        return;
    };
    let ns = unique_namespace();
    let env = Env::with_broker(
        "[tasks.add]\nexec = [\"sh\", \"-c\", \"echo $STEM_ARGS\"]\nmax_retries = 0\n",
        &redis,
        &ns,
    )
    .with_backend(&postgres);
    let _worker = env.worker(&["--concurrency", "1"]);
    let id = env.enqueue("add", &["--args", "[2, 3]"]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], serde_json::json!([2, 3]), "{record}");

    // The record lives in Postgres, in the namespace's schema.
    let out = std::process::Command::new("psql")
        .args([
            "-At",
            &postgres,
            "-c",
            &format!("SELECT state FROM {ns}.results WHERE id = '{id}'"),
        ])
        .output()
        .expect("run psql");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "success",
        "{out:?}"
    );
    let health = env.stem(&["health", "--json"]);
    assert!(health.ok(), "{health:?}");
}
