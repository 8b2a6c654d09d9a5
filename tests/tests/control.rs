//! Issue 5: the control plane — ping, inspect and stats answer from two live workers; a
//! SIGKILLed worker stops being listed as live by `stem observe workers` once its heartbeat
//! lapses, and stops answering.

use serde_json::Value;
use stem_e2e::{fake_runtime, wait_for, wait_for_value, Env, PATIENCE};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");

/// `stem worker COMMAND --json`: the replies by worker id (empty when none answered).
fn ask(env: &Env, command: &str) -> serde_json::Map<String, Value> {
    let out = env.stem(&["worker", command, "--json", "--timeout", "2s"]);
    if !out.ok() {
        return Default::default();
    }
    out.json().as_object().cloned().unwrap_or_default()
}

/// `stem observe workers --json --lapse 1s`: (worker id, lapsed) pairs.
fn observed(env: &Env) -> Vec<(String, bool)> {
    let out = env
        .stem(&["observe", "workers", "--json", "--lapse", "1s"])
        .success();
    out.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["worker"].as_str().unwrap_or_default().to_string(),
                w["lapsed"] == true,
            )
        })
        .collect()
}

#[test]
fn ping_inspect_stats_from_two_workers_and_a_killed_one_lapses() {
    let env = Env::with_manifest(&format!(
        "{}\n[tasks.hang]\nruntime = \"fake\"\ntime_limit = \"120s\"\nmax_retries = 0\n",
        fake_runtime("fake", FAKE, "process")
    ));
    let _a = env.worker(&["--worker-id", "a", "--heartbeat", "200ms"]);
    let mut b = env.worker(&["--worker-id", "b", "--heartbeat", "200ms"]);

    let both = wait_for(PATIENCE, || ask(&env, "ping").len() == 2);
    assert!(both, "ping: {:?}", ask(&env, "ping"));

    let id = env.enqueue("hang", &[]);
    let running = wait_for_value(PATIENCE, || {
        let replies = ask(&env, "inspect");
        if replies.len() != 2 {
            return None;
        }
        replies.values().find_map(|w| {
            w["running"]
                .as_array()?
                .iter()
                // Running, and its child started (the pid comes a moment after the slot).
                .find(|r| r["id"] == id.as_str() && r["pid"].is_u64())
                .cloned()
        })
    })
    .expect("inspect never showed the running task on either worker");
    assert_eq!(running["runtime"], "fake", "{running}");
    assert!(running["pid"].as_u64().is_some_and(|p| p > 1), "{running}");

    let stats = ask(&env, "stats");
    assert_eq!(stats.len(), 2, "{stats:?}");
    for (worker, s) in &stats {
        for key in ["processed", "failed", "retried", "uptime_s", "in_flight"] {
            assert!(s[key].is_u64(), "{worker} stats lack {key}: {s}");
        }
    }
    let in_flight: u64 = stats
        .values()
        .map(|s| s["in_flight"].as_u64().unwrap())
        .sum();
    assert_eq!(in_flight, 1, "{stats:?}");

    let live = wait_for(PATIENCE, || {
        let w = observed(&env);
        ["a", "b"]
            .iter()
            .all(|id| w.iter().any(|(n, lapsed)| n == id && !lapsed))
    });
    assert!(live, "not both live: {:?}", observed(&env));

    b.kill();
    let lapsed = wait_for(PATIENCE, || {
        let w = observed(&env);
        let b_live = w.iter().any(|(n, lapsed)| n == "b" && !lapsed);
        let a_live = w.iter().any(|(n, lapsed)| n == "a" && !lapsed);
        a_live && !b_live
    });
    assert!(
        lapsed,
        "the killed worker is still listed as live: {:?}",
        observed(&env)
    );
    let replies = ask(&env, "ping");
    assert!(
        replies.contains_key("a") && !replies.contains_key("b"),
        "{replies:?}"
    );
}
