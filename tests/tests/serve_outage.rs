//! Issue 13: `stem serve` through a store outage — with its private Redis killed, requests get a
//! JSON 503 (`unavailable`), `/readyz` says the broker is down and `/healthz` still answers;
//! with Redis back the same server enqueues again.

use serde_json::json;
use stem_e2e::http::Server;
use stem_e2e::private_redis::{free_port, PrivateRedis};
use stem_e2e::{service_url, unique_namespace, wait_for, Env, PATIENCE};

#[test]
fn the_server_answers_503_while_redis_is_down_and_recovers() {
    let test = "the_server_answers_503_while_redis_is_down_and_recovers";
    if service_url("STEM_TEST_REDIS_URL", test).is_none() {
        return;
    }
    let Some(redis) = PrivateRedis::start(free_port(), tempfile::tempdir().expect("a temp dir"))
    else {
        eprintln!("{test}: no redis-server on PATH: skipping");
        return;
    };
    let env = Env::with_broker(
        "[tasks.t]\nexec = [\"true\"]\n",
        &redis.url(),
        &unique_namespace(),
    );
    let server = Server::start(&env, &[], &[]);
    let task = json!({"task": "t"}).to_string();
    assert_eq!(server.post("/v1/tasks", &task).status, 200);

    let port = redis.url();
    let mut redis = redis;
    redis.kill();
    let down = server.post("/v1/tasks", &task);
    assert_eq!(
        (down.status, &down.body["error"]["code"]),
        (503, &json!("unavailable")),
        "{down:?}"
    );
    let asked = std::time::Instant::now();
    let ready = server.get("/readyz");
    let took = asked.elapsed();
    assert!(
        took < std::time::Duration::from_secs(10),
        "readyz took {took:?} with Redis down"
    );
    assert_eq!(
        (ready.status, &ready.body["broker"]["status"]["ok"]),
        (503, &json!(false)),
        "{ready:?}"
    );
    assert_eq!(
        server.get("/healthz").status,
        200,
        "the server itself still answers"
    );

    let _back = redis.crash_and_restart(std::time::Duration::ZERO);
    let recovered = wait_for(PATIENCE, || server.post("/v1/tasks", &task).status == 200);
    assert!(
        recovered,
        "the server did not enqueue again once {port} was back"
    );
    assert_eq!(server.get("/readyz").status, 200);
}
