//! Issue 16: numbers a producer gets wrong are refused with a message naming the flag, never
//! wrapped: a countdown too large or negative, a priority outside 0–9; an eta in the past runs
//! now and says so; RFC 3339 etas and `3s` timeouts are taken.

use stem_e2e::Env;

const MANIFEST: &str = "[tasks.t]\nexec = [\"true\"]\nmax_retries = 0\n";

fn refused(env: &Env, args: &[&str], what: &str) {
    let mut all = vec!["enqueue", "t"];
    all.extend_from_slice(args);
    let out = env.stem(&all);
    assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(first.contains(what), "{args:?}: {what:?} in {out:?}");
}

#[test]
fn countdowns_and_priorities_out_of_range_are_refused() {
    let env = Env::with_manifest(MANIFEST);
    refused(&env, &["--countdown", "1e16"], "invalid duration \"1e16\"");
    refused(
        &env,
        &["--countdown", "99999999999"],
        "more than the longest allowed",
    );
    refused(
        &env,
        &["--countdown", "-5"],
        "a countdown cannot be negative",
    );
    refused(
        &env,
        &["--priority", "10"],
        "from 0 (lowest) to 9 (highest)",
    );
    refused(
        &env,
        &["--priority", "300"],
        "from 0 (lowest) to 9 (highest)",
    );
    refused(
        &env,
        &["--priority", "-1"],
        "from 0 (lowest) to 9 (highest)",
    );
    refused(
        &env,
        &["--eta", "253402300800000"],
        "after the last instant RFC 3339 can write",
    );
    refused(
        &env,
        &["--eta", "tomorrow"],
        "--eta: expected an RFC 3339 time",
    );
    // Nothing was published by any of them.
    assert!(env.queue_drained("default"));
}

#[test]
fn an_eta_in_the_past_runs_now_and_says_so() {
    let env = Env::with_manifest(MANIFEST);
    let out = env
        .stem(&["enqueue", "t", "--eta", "2020-01-01T00:00:00Z", "--json"])
        .success();
    assert!(out.stderr.contains("is in the past"), "{out:?}");
    let id = out.json()["id"].as_str().expect("an id").to_string();
    let _worker = env.worker(&[]);
    assert_eq!(env.outcome(&id)["state"], "success");
}

#[test]
fn durations_are_one_syntax_on_every_flag() {
    let env = Env::with_manifest(MANIFEST);
    // No worker: --wait gives up after the timeout, written like every other duration.
    for timeout in ["300ms", "1s", "0.5"] {
        let out = env.stem(&[
            "enqueue",
            "t",
            "--wait",
            "--timeout",
            timeout,
            "--countdown",
            "2m",
        ]);
        assert_ne!(out.code, Some(2), "--timeout {timeout} is taken: {out:?}");
        assert!(!out.stderr.contains("invalid"), "{out:?}");
    }
    let id = env.enqueue("t", &[]);
    let out = env.stem(&["result", &id, "--wait", "--timeout", "200ms"]);
    assert!(!out.stderr.contains("invalid"), "{out:?}");
}
