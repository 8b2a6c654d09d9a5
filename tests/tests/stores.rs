//! Issue 16: stores that cannot work. A read-only SQLite file is a one-line error at start
//! naming the file (worker, enqueue and health alike), never `ready` followed by endless
//! retries; `stem health` reports each component on its own, so a result backend that is down
//! is not blamed on the broker.

use std::process::Command;
use std::time::Duration;
use stem_e2e::Env;

const MANIFEST: &str = "[tasks.t]\nexec = [\"true\"]\n";

/// Makes `path` immutable (even root cannot write it) until the guard drops.
struct Immutable(std::path::PathBuf);

impl Immutable {
    fn new(path: std::path::PathBuf) -> Result<Self, String> {
        let out = Command::new("chattr").arg("+i").arg(&path).output();
        match out {
            Ok(o) if o.status.success() => Ok(Immutable(path)),
            Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
            Err(e) => Err(format!("chattr cannot run: {e}")),
        }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_sqlite_store_is_one_line_at_start_naming_the_file() {
    let env = Env::with_manifest(MANIFEST);
    env.enqueue("t", &[]); // creates the store
    let guard = match Immutable::new(env.file("stem.db")) {
        Ok(g) => g,
        Err(why) => {
            eprintln!("SKIPPED a_read_only_sqlite_store_is_one_line_at_start_naming_the_file: cannot make a file read-only for root here ({why})");
            return;
        }
    };
    let db = env.file("stem.db").display().to_string();
    let mut worker = env.worker(&[]);
    let status = worker.wait_exit(Duration::from_secs(30));
    let log = worker.log();
    assert!(
        status.is_some_and(|s| s.code() == Some(2)),
        "the worker must exit 2: {status:?}\n{log}"
    );
    assert!(!log.contains("ready"), "{log}");
    assert!(log.contains(&db) && log.contains("read-only"), "{log}");

    let out = env.stem(&["enqueue", "t"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains(&db) && out.stderr.contains("read-only"),
        "{out:?}"
    );

    let out = env.stem(&["health", "--json", "--no-workers-ok"]);
    assert!(!out.ok(), "{out:?}");
    let report = out.json();
    assert_eq!(report["broker"]["status"]["ok"], false, "{report}");
    assert!(
        report["broker"]["status"]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("read-only"),
        "{report}"
    );
    drop(guard);
}

#[test]
fn health_blames_the_component_that_is_down() {
    let env = Env::with_manifest(MANIFEST);
    let broker = env.broker_url();
    let out = env.stem(&[
        "health",
        "--json",
        "--no-workers-ok",
        "--backend",
        "redis://127.0.0.1:1/0",
    ]);
    assert!(!out.ok(), "{out:?}");
    let report = out.json();
    assert_eq!(report["broker"]["status"]["ok"], true, "{report}");
    assert_eq!(report["broker"]["url"], broker.as_str(), "{report}");
    assert_eq!(report["result_backend"]["status"]["ok"], false, "{report}");
    assert_eq!(report["result_backend"]["backend"], "redis", "{report}");
    let text = env.stem(&[
        "health",
        "--no-workers-ok",
        "--backend",
        "redis://127.0.0.1:1/0",
    ]);
    assert!(
        text.stdout.contains("broker") && text.stdout.contains("ok"),
        "{text:?}"
    );
    assert!(text.stderr.contains("result backend down"), "{text:?}");
    assert!(!text.stderr.contains("broker down"), "{text:?}");
}

#[test]
fn a_worker_started_while_the_broker_is_down_waits_for_it() {
    use stem_e2e::private_redis::{free_port, PrivateRedis};
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let env = Env::with_broker(MANIFEST, &url, &stem_e2e::unique_namespace());
    let out = env.stem(&["worker", "--manifest", "stem.toml", "--fail-fast"]);
    assert_eq!(out.code, Some(1), "--fail-fast exits at once: {out:?}");
    assert!(out.stderr.contains("Connection refused"), "{out:?}");

    let mut worker = env.worker(&[]);
    let retrying = stem_e2e::wait_for(Duration::from_secs(30), || {
        worker
            .log()
            .matches("cannot reach the stores at start")
            .count()
            >= 2
    });
    assert!(retrying, "no retry lines: {}", worker.log());
    worker.assert_alive();
    let dir = tempfile::tempdir().expect("a folder for redis");
    let Some(_redis) = PrivateRedis::start(port, dir) else {
        eprintln!("SKIPPED the rest of a_worker_started_while_the_broker_is_down_waits_for_it: no redis-server on PATH");
        return;
    };
    let id = env.enqueue("t", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    worker.assert_alive();
}

/// `stem health` checks that the broker takes a write: a read-only Redis replica answers PING
/// but is reported down, naming why.
#[test]
fn health_reports_a_broker_that_answers_but_cannot_write() {
    use stem_e2e::private_redis::{free_port, PrivateRedis};
    let port = free_port();
    let dir = tempfile::tempdir().expect("a folder for redis");
    let Some(redis) = PrivateRedis::start(port, dir) else {
        eprintln!("SKIPPED health_reports_a_broker_that_answers_but_cannot_write: no redis-server on PATH");
        return;
    };
    let env = Env::with_broker(MANIFEST, &redis.url(), &stem_e2e::unique_namespace());
    let healthy = env.stem(&["health", "--json"]);
    assert_eq!(
        healthy.json()["broker"]["status"]["ok"],
        true,
        "{healthy:?}"
    );
    // A replica of a master that is not there: read-only, still answering PING.
    let made = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "replicaof", "127.0.0.1", "1"])
        .output()
        .expect("redis-cli");
    assert!(made.status.success());
    let report = env.stem(&["health", "--json"]);
    let broker = &report.json()["broker"]["status"];
    assert_eq!(broker["ok"], false, "{report:?}");
    let error = broker.to_string();
    assert!(
        error.contains("cannot write") && error.contains("read only replica"),
        "{report:?}"
    );
}
