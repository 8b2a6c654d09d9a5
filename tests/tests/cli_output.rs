//! Issue 16: the CLI from outside. Output cut short by `| head` ends quietly (no panic, no exit
//! 101); a record's "earlier attempts" are the attempts before the final one; `events --limit`
//! shows the newest events; `worker ping` returns once every live worker answered.

use std::process::Command;
use std::time::{Duration, Instant};
use stem_e2e::{wait_for, Env};

/// Runs `stem ARGS | head -1` in bash; stem's exit status and its stderr.
fn into_head(env: &Env, args: &str) -> (i32, String) {
    let script =
        format!("\"$STEM\" {args} 2>stem.err | head -1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"");
    let out = Command::new("bash")
        .args(["-c", &script])
        .env("STEM", stem_e2e::stem_bin())
        .env("STEM_BROKER_URL", env.broker_url())
        .current_dir(env.path())
        .output()
        .expect("run bash");
    let code = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(-1);
    (code, env.read("stem.err"))
}

#[test]
fn output_cut_by_head_ends_quietly() {
    let env = Env::with_manifest(
        "[tasks.big]\nexec = [\"sh\", \"-c\", \"head -c 900000 /dev/zero | tr '\\\\0' x\"]\n",
    );
    let _worker = env.worker(&[]);
    let id = env.enqueue("big", &[]);
    assert_eq!(env.outcome(&id)["state"], "success");
    for args in [
        format!("result {id}"),
        format!("result {id} --json"),
        "events --limit 1000".into(),
    ] {
        let (code, stderr) = into_head(&env, &args);
        assert!(!stderr.contains("panicked"), "stem {args} | head: {stderr}");
        assert_ne!(code, 101, "stem {args} | head panicked: {stderr}");
        assert!(
            stderr.trim().is_empty(),
            "stem {args} | head printed: {stderr}"
        );
    }
}

#[test]
fn earlier_attempts_do_not_repeat_the_final_one() {
    let env = Env::with_manifest(
        "[tasks.flaky]\nexec = [\"sh\", \"-c\", \"echo \\\"boom $STEM_ATTEMPT\\\" >&2; exit 3\"]\n\
         max_retries = 2\nretry = { backoff = \"fixed\", base = \"100ms\" }\n",
    );
    let _worker = env.worker(&[]);
    let id = env.enqueue("flaky", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["attempt"], 3, "{record}");
    let text = env.stem(&["result", &id]).stdout;
    let earlier: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("earlier attempts:"))
        .skip(1)
        .filter(|l| l.trim_start().starts_with("attempt "))
        .collect();
    assert_eq!(earlier.len(), 2, "{text}");
    assert!(
        earlier[0].contains("boom 1") && earlier[1].contains("boom 2"),
        "{text}"
    );
    assert!(
        text.contains("error: ExitStatus") && text.contains("boom 3"),
        "{text}"
    );
    assert!(text.contains("created 20"), "times in RFC 3339: {text}");
}

#[test]
fn events_limit_shows_the_newest() {
    let env = Env::with_manifest("[tasks.t]\nexec = [\"true\"]\n");
    let _worker = env.worker(&[]);
    for _ in 0..3 {
        let id = env.enqueue("t", &[]);
        env.outcome(&id);
    }
    let lines = |limit: &str| -> Vec<serde_json::Value> {
        env.stem(&["events", "--json", "--limit", limit])
            .success()
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("an event"))
            .collect()
    };
    // Events are flushed a little after they happen: wait until all three successes are in.
    assert!(wait_for(Duration::from_secs(30), || {
        lines("1000")
            .iter()
            .filter(|e| e["kind"] == "succeeded")
            .count()
            == 3
    }));
    let all = lines("1000");
    let newest = lines("2");
    assert_eq!(newest, all[all.len() - 2..].to_vec());
    let text = env.stem(&["events", "--limit", "1"]).success().stdout;
    assert!(text.starts_with("20"), "an RFC 3339 time first: {text}");
}

#[test]
fn ping_returns_once_every_live_worker_answered() {
    let env = Env::with_manifest("[tasks.t]\nexec = [\"true\"]\n");
    let _worker = env.worker(&[]);
    let seen = wait_for(Duration::from_secs(30), || {
        env.stem(&["observe", "workers", "--json"])
            .success()
            .json()
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    assert!(seen, "the worker sent no heartbeat\n{}", env.worker_logs());
    let started = Instant::now();
    let out = env
        .stem(&["worker", "ping", "--json", "--timeout", "60s"])
        .success();
    let took = started.elapsed();
    assert_eq!(out.json().as_object().map(|m| m.len()), Some(1), "{out:?}");
    assert!(
        took < Duration::from_secs(30),
        "ping waited for its whole timeout ({took:?})"
    );
}

#[test]
fn revoking_an_id_nobody_knows_says_so() {
    let env = Env::with_manifest("[tasks.t]\nexec = [\"true\"]\n");
    let out = env.stem(&["revoke", "no-such-id"]);
    assert_eq!(out.code, Some(1), "an unknown id is refused: {out:?}");
    assert!(
        out.stderr.contains("no task \"no-such-id\" is known"),
        "{out:?}"
    );
    assert!(out.stderr.contains("--force"), "{out:?}");
    let stored = env.stem(&["revoke", "no-such-id", "--force"]).success();
    assert!(stored.stderr.contains("stored anyway"), "{stored:?}");
    let json = env
        .stem(&["revoke", "no-such-id", "--force", "--json"])
        .success()
        .json();
    assert_eq!(json["known"], false, "{json}");
    // A task waiting in its queue has no record yet, and is known all the same.
    let queued = env.enqueue("t", &[]);
    let out = env.stem(&["revoke", &queued, "--json"]).success();
    assert_eq!(out.json()["known"], true, "{out:?}");
    assert_eq!(
        env.record(&queued)["state"],
        "pending",
        "not run: no worker yet"
    );
    let _worker = env.worker(&[]);
    assert_eq!(env.outcome(&queued)["state"], "revoked");
    let id = env.enqueue("t", &[]);
    env.outcome(&id);
    let out = env.stem(&["revoke", &id]).success();
    assert!(
        !out.stderr.contains("is known"),
        "a recorded task is known: {out:?}"
    );
}

#[test]
fn empty_lists_and_unknown_ids_say_so() {
    let env = Env::new();
    let empty = env.stem(&["tasks", "list"]).success();
    assert!(empty.stdout.starts_with("no task records yet"), "{empty:?}");
    let empty = env.stem(&["queue", "list"]).success();
    assert!(empty.stdout.starts_with("no queues yet"), "{empty:?}");
    let out = env.stem(&["result", "not-a-real-id"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("not-a-real-id  unknown"), "{out:?}");
    let json = env.stem(&["result", "not-a-real-id", "--json"]);
    assert_eq!(json.code, Some(1), "{json:?}");
    assert_eq!(json.json()["state"], "unknown", "{json:?}");
    // Queued, no worker: pending, and known.
    let queued = env.enqueue("t", &[]);
    let out = env.stem(&["result", &queued]).success();
    assert!(out.stdout.contains("pending"), "{out:?}");
}

#[test]
fn health_with_a_url_that_can_never_work_is_one_line_and_exit_2() {
    let env = Env::new();
    for url in ["foo://x", "no-scheme-here"] {
        let out = env.stem(&["health", "--broker", url]);
        assert_eq!(out.code, Some(2), "{url}: {out:?}");
        assert_eq!(out.stdout, "", "{url}: no DOWN report: {out:?}");
        assert_eq!(out.stderr.trim().lines().count(), 1, "{url}: {out:?}");
        assert!(out.stderr.contains("URL"), "{url}: {out:?}");
    }
}
