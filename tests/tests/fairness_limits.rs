//! Per-key concurrency and shared limits from outside, with real workers: `max_concurrency_key`
//! holds per key across three workers while one is SIGKILLed mid-run (its slots come back after
//! its lease, its tasks are run by the others), and is per key (other keys run beside it); a
//! `[limits.NAME]` shared by two task types holds across both (concurrency and rate). On SQLite,
//! and on Redis and Postgres when their URLs are set.

use serde_json::Value;
use std::collections::BTreeMap;
use stem_e2e::flow::{busiest_second, max_overlap, starts, succeeded};
use stem_e2e::stores::{world, Store};
use stem_e2e::{wait_for, Env, PATIENCE};

fn per_key_concurrency(store: Store, test: &str) {
    let manifest = "[tasks.work]\nexec = [\"sh\", \"-c\", \"sleep 0.5\"]\nmax_concurrency = 2\nmax_concurrency_key = \"args.0\"\n";
    let Some(env) = world(store, manifest, test) else {
        return;
    };
    let args = ["--concurrency", "4", "--visibility-timeout", "2s"];
    let mut workers: Vec<_> = (0..3).map(|_| env.worker(&args)).collect();
    for (tenant, n) in [("a", "8"), ("b", "8"), ("c", "4")] {
        let args = format!("[\"{tenant}\"]");
        env.stem(&["enqueue", "work", "--args", &args, "--repeat", n])
            .success();
    }
    // Kill one worker while tasks run (whatever it holds comes back after its lease).
    let running = wait_for(PATIENCE, || {
        env.stem(&["tasks", "list", "--state", "started", "--json"])
            .json()
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    assert!(running, "nothing started\n{}", env.worker_logs());
    workers[0].kill();
    let done = succeeded(&env, "work", 20, PATIENCE * 2);
    let mut by_key: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in &done {
        let key = r["args"][0].as_str().unwrap_or("?").to_string();
        by_key.entry(key).or_default().push(r);
    }
    for (key, runs) in &by_key {
        let most = max_overlap(runs.iter().copied());
        assert!(
            most <= 2,
            "{most} runs of key {key} at once with max_concurrency = 2 per key\n{runs:?}"
        );
    }
    let all = max_overlap(&done);
    assert!(
        all >= 3,
        "the limit is per key: keys should run beside each other (at most {all} at once)"
    );
}

#[test]
fn per_key_concurrency_holds_with_a_worker_killed_sqlite() {
    per_key_concurrency(
        Store::Sqlite,
        "per_key_concurrency_holds_with_a_worker_killed_sqlite",
    );
}

#[test]
fn per_key_concurrency_holds_with_a_worker_killed_redis() {
    per_key_concurrency(
        Store::Redis,
        "per_key_concurrency_holds_with_a_worker_killed_redis",
    );
}

#[test]
fn per_key_concurrency_holds_with_a_worker_killed_postgres() {
    per_key_concurrency(
        Store::Postgres,
        "per_key_concurrency_holds_with_a_worker_killed_postgres",
    );
}

const SHARED: &str = r#"
[limits.stripe]
max_concurrency = 2

[limits.api]
rate = "10/s"
burst = 2

[tasks.charge]
exec = ["sh", "-c", "sleep 0.3"]
limits = ["stripe"]

[tasks.refund]
exec = ["sh", "-c", "sleep 0.3"]
limits = ["stripe"]

[tasks.ping]
exec = ["true"]
limits = ["api"]

[tasks.pong]
exec = ["true"]
limits = ["api"]
"#;

fn shared_limits(store: Store, test: &str) {
    let Some(env) = world(store, SHARED, test) else {
        return;
    };
    let _workers: Vec<_> = (0..2)
        .map(|_| env.worker(&["--concurrency", "4"]))
        .collect();
    for task in ["charge", "refund"] {
        env.stem(&["enqueue", task, "--repeat", "6"]).success();
    }
    for task in ["ping", "pong"] {
        env.stem(&["enqueue", task, "--repeat", "15"]).success();
    }
    let mut stripe = succeeded(&env, "charge", 6, PATIENCE * 2);
    stripe.extend(succeeded(&env, "refund", 6, PATIENCE * 2));
    let most = max_overlap(&stripe);
    assert!(
        most <= 2,
        "{most} charge/refund runs at once with a shared max_concurrency = 2\n{stripe:?}"
    );
    let mut api = succeeded(&env, "ping", 15, PATIENCE * 2);
    api.extend(succeeded(&env, "pong", 15, PATIENCE * 2));
    let at = starts(&api);
    let busiest = busiest_second(&at);
    // Tokens are taken at the gate; a start is recorded a spawn later, so one start of slack.
    assert!(
        busiest <= 10 + 2 + 1,
        "{busiest} ping/pong starts in one second under a shared 10/s, burst 2: {at:?}"
    );
    let span = at.last().unwrap() - at.first().unwrap();
    assert!(
        span >= 2_500,
        "30 ping/pong starts under one shared 10/s (burst 2) spread over {span} ms, not ~2.8 s: \
         the limit is not shared"
    );
}

#[test]
fn a_shared_limit_holds_across_task_types_sqlite() {
    shared_limits(
        Store::Sqlite,
        "a_shared_limit_holds_across_task_types_sqlite",
    );
}

#[test]
fn a_shared_limit_holds_across_task_types_redis() {
    shared_limits(Store::Redis, "a_shared_limit_holds_across_task_types_redis");
}

#[test]
fn a_manifest_naming_an_unknown_limit_is_refused_with_its_line() {
    let env = Env::with_manifest("[tasks.a]\nexec = [\"true\"]\nlimits = [\"nope\"]\n");
    let out = env.stem(&["worker", "--manifest", "stem.toml"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("stem.toml:3: ") && out.stderr.contains("no [limits.nope] table"),
        "{}",
        out.stderr
    );
    let env = Env::with_manifest("[limits.x]\nburst = 3\n");
    let out = env.stem(&["worker", "--manifest", "stem.toml"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("limits.x: "), "{}", out.stderr);
}
