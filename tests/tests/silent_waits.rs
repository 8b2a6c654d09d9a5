//! Issue 16: waits that say why. `enqueue --wait` with no live worker on the task's queue says
//! so at once (and keeps waiting); `--id X --wait` on an id with a final record waits for the
//! new run (the record is reset to it at publish); a producer that creates the embedded store says where, once.

use std::process::Stdio;
use stem_e2e::{stem_bin, Env};

#[test]
fn a_wait_without_a_consumer_says_so_at_once() {
    let env = Env::with_manifest("[tasks.t]\nexec = [\"true\"]\nqueue = \"lonely\"\n");
    let out = env.stem(&["enqueue", "t", "--wait", "--timeout", "1s"]);
    assert!(
        out.stderr
            .contains("no live worker consumes queue \"lonely\""),
        "{out:?}"
    );
    assert!(out.stderr.contains("timed out"), "it kept waiting: {out:?}");
}

#[test]
fn waiting_on_a_reused_id_waits_for_its_new_run() {
    let env = Env::with_manifest("[tasks.t]\nexec = [\"echo\", \"one\"]\n");
    let _worker = env.worker(&[]);
    let id = env.enqueue("t", &["--id", "fixed-id-1"]);
    let first = env.outcome(&id);
    assert_eq!(first["state"], "success");
    let out = env.stem(&[
        "enqueue",
        "t",
        "--id",
        "fixed-id-1",
        "--wait",
        "--timeout",
        "30s",
    ]);
    assert!(out.ok(), "{out:?}");
    // The record the wait returned is the new run's, not the first one's.
    let now = env.record(&id);
    assert_eq!(now["state"], "success", "{now}");
    assert_ne!(now["run"], first["run"], "{now} after {first}");
}

#[test]
fn a_producer_creating_the_embedded_store_says_where_once() {
    let env = Env::with_manifest("[tasks.t]\nexec = [\"true\"]\n");
    let run = || {
        std::process::Command::new(stem_bin())
            .args(["enqueue", "t"])
            .env_remove("STEM_BROKER_URL")
            .env_remove("STEM_RESULT_BACKEND_URL")
            .current_dir(env.path())
            .stdin(Stdio::null())
            .output()
            .expect("run stem")
    };
    let first = run();
    assert!(first.status.success(), "{first:?}");
    let stderr = String::from_utf8_lossy(&first.stderr);
    let db = std::fs::canonicalize(env.file("stem.db")).expect("the store exists");
    assert!(
        stderr.contains(&format!("created the embedded store {}", db.display())),
        "{stderr}"
    );
    let second = run();
    assert!(second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).trim().is_empty(),
        "once: {second:?}"
    );
}
