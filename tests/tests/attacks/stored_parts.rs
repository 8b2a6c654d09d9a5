//! What a store keeps besides envelopes and records but that still decides what runs, edited by
//! a writer to the SQLite file with HMAC signing on: a schedule's arguments (what `stem beat`
//! would fire, signed by it) and a chord member's stored result (the body's input). Both are
//! signed by whoever wrote them; an edited or unsigned one is refused, naming it, and nothing runs
//! with the writer's arguments.

use base64::Engine;
use stem_e2e::store_edit::sqlite_sql;
use stem_e2e::{wait_for, Env, Output, PATIENCE};

const MANIFEST: &str = r#"[tasks.note]
exec = ["sh", "-c", "echo \"$STEM_TASK_ID $STEM_ARGS\" >> ran.txt"]
max_retries = 0

[tasks.slow]
exec = ["sh", "-c", "for i in $(seq 1 600); do [ -e go ] && break; sleep 0.05; done; echo slow"]
max_retries = 0
"#;

fn keys() -> Vec<(&'static str, String)> {
    let secret = base64::engine::general_purpose::STANDARD.encode(b"stored parts secret");
    vec![("STEM_SIGNING_KEYS", format!("k1:{secret}"))]
}

fn stem(env: &Env, args: &[&str]) -> Output {
    env.stem_with_env(&keys(), args)
}

fn ran(env: &Env) -> String {
    std::fs::read_to_string(env.file("ran.txt")).unwrap_or_default()
}

#[test]
fn an_edited_schedule_is_refused_and_never_fired() {
    let env = Env::with_manifest(MANIFEST);
    env.write(
        "s.toml",
        "[schedules.tick]\ntask = \"note\"\nevery = \"1s\"\nargs = [\"legit\"]\n",
    );
    stem(&env, &["schedule", "apply", "s.toml"]).success();
    stem(&env, &["schedule", "show", "tick"]).success();
    let body = sqlite_sql(&env, "SELECT body FROM stem_schedules WHERE id = 'tick'");
    assert!(body.contains("\"signature\""), "stored signed: {body}");
    let evil = body.trim().replace("legit", "EVIL-ARG");
    sqlite_sql(
        &env,
        &format!(
            "UPDATE stem_schedules SET body = '{}' WHERE id = 'tick'",
            evil.replace('\'', "''")
        ),
    );
    let out = stem(&env, &["schedule", "show", "tick"]);
    assert_ne!(out.code, Some(0), "{out:?}");
    let err = out.stderr.trim();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("schedule tick: signature:"), "{err}");

    // A beat and a worker run for a few fires: nothing with the writer's argument is published.
    let vars = keys();
    let worker_vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _w = env.worker_with_env(&["--concurrency", "1"], &worker_vars);
    let mut beat = env.command(env.path());
    beat.envs(keys()).args(["beat", "--tick", "200ms"]);
    beat.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut beat = beat.spawn().expect("start the beat");
    // Publish one legitimate task so "the worker ran something" is observable and bounded.
    stem(&env, &["enqueue", "note", "--args", "[\"probe\"]"]).success();
    assert!(
        wait_for(PATIENCE, || ran(&env).contains("probe")),
        "the probe ran"
    );
    let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while std::time::Instant::now() < until {
        assert!(
            !ran(&env).contains("EVIL-ARG"),
            "the edited schedule fired: {}",
            ran(&env)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = beat.kill();
    let _ = beat.wait();
    assert!(!ran(&env).contains("EVIL-ARG"), "{}", ran(&env));
}

#[test]
fn an_edited_chord_member_result_never_reaches_the_body() {
    let env = Env::with_manifest(MANIFEST);
    env.write(
        "chord.json",
        r#"{"chord": {"header": [{"task": "note", "args": ["member"]}, {"task": "slow"}], "body": {"task": "note"}}}"#,
    );
    let vars = keys();
    let worker_vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let w = env.worker_with_env(&["--concurrency", "2"], &worker_vars);
    stem(&env, &["canvas", "submit", "chord.json"]).success();
    // The fast member's result is stored (signed) while the slow one waits for `go`.
    let stored_first = wait_for(PATIENCE, || {
        !sqlite_sql(&env, "SELECT result FROM stem_group_members WHERE idx = 0")
            .trim()
            .is_empty()
    });
    assert!(stored_first, "the first member's result is stored");
    let stored = sqlite_sql(&env, "SELECT result FROM stem_group_members WHERE idx = 0");
    assert!(stored.contains("\"signature\""), "stored signed: {stored}");
    sqlite_sql(
        &env,
        "UPDATE stem_group_members SET result = '\"EVIL-ARG\"' WHERE idx = 0",
    );
    env.write("go", "");
    let refused = wait_for(PATIENCE, || w.log().contains("no follow-up published"));
    assert!(refused, "the refusal in the worker's log: {}", w.log());
    assert!(w.log().contains("signature: missing"), "{}", w.log());
    let lines = ran(&env);
    assert_eq!(lines.lines().count(), 1, "only the member ran: {lines}");
    assert!(!lines.contains("EVIL-ARG"), "{lines}");
}
