//! Helpers of the pipelining tests: one warm fake child (pool of one) and its pool's counters.

use crate::{fake_runtime, Env};
use serde_json::Value;

/// One pool child (pool_size 1; run the worker with concurrency 1, so tasks beyond the first
/// queue on it). `ahead`: the child says `pipeline: 32` and takes lines ahead.
pub fn one_child(fake: &str, ahead: bool, extra: &str) -> Env {
    let env_line = if ahead {
        "env = { FAKE_PIPELINE = \"32\" }\n"
    } else {
        ""
    };
    Env::with_manifest(&format!(
        "{}pool_size = 1\n{env_line}\n[defaults]\nmax_retries = 0\n\n\
         [tasks.sleep]\nruntime = \"fake\"\ntime_limit = \"1s\"\n\n\
         [tasks.exit_early]\nruntime = \"fake\"\n\n[tasks.echo]\nruntime = \"fake\"\n{extra}",
        fake_runtime("fake", fake, "pool")
    ))
}

/// The `sleep` task's arguments: sleep `secs`, after appending its id to `marker`.
pub fn sleep_args(secs: f64, marker: &std::path::Path) -> String {
    serde_json::json!([secs, marker.display().to_string()]).to_string()
}

/// The `fake` runtime's pool counters from `stem worker stats`.
pub fn pool_stats(env: &Env) -> Value {
    let stats = env.stem(&["worker", "stats", "--json"]).success().json();
    let pools = stats.as_object().unwrap().values().next().unwrap()["pools"].clone();
    pools
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["runtime"] == "fake")
        .cloned()
        .unwrap_or(Value::Null)
}

/// Waits for each task of `ids` to succeed; the pids they returned (`sleep`, `whoami`), in order.
pub fn pids_of(env: &Env, ids: &[String]) -> Vec<u64> {
    ids.iter()
        .map(|id| {
            let r = env.outcome(id);
            assert_eq!(r["state"], "success", "{r}\n{}", env.worker_logs());
            r["result"].as_u64().expect("the child's pid")
        })
        .collect()
}
