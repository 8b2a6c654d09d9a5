//! Issues 4 and 5: pool recycling after `max_tasks_per_child`, rlimits on a task, task events
//! on the events stream, and `stem health` with and without a live worker.

use serde_json::Value;
use std::collections::HashMap;
use stem_e2e::{fake_runtime, wait_for, Env, PATIENCE};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");

#[test]
fn a_pool_child_is_recycled_after_max_tasks_per_child() {
    let env = Env::with_manifest(&format!(
        "{}pool_size = 1\nmax_tasks_per_child = 2\n\n[tasks.whoami]\nruntime = \"fake\"\n",
        fake_runtime("fake", FAKE, "pool")
    ));
    let _worker = env.worker(&["--concurrency", "1"]);
    let mut pids = Vec::new();
    for _ in 0..6 {
        let id = env.enqueue("whoami", &[]);
        let record = env.outcome(&id);
        assert_eq!(record["state"], "success", "{record}");
        pids.push(record["result"].as_u64().expect("a pid") as u32);
    }
    let mut uses: HashMap<u32, usize> = HashMap::new();
    for p in &pids {
        *uses.entry(*p).or_default() += 1;
    }
    assert_eq!(uses.len(), 3, "a fresh child every two tasks: {pids:?}");
    assert!(
        uses.values().all(|&n| n == 2),
        "each child served two tasks: {pids:?}"
    );
    assert_eq!(pids[0], pids[1], "the warm child is reused: {pids:?}");
}

#[test]
fn rlimits_apply_to_the_task_process() {
    let env = Env::with_manifest(
        "[tasks.limits]\nexec = [\"sh\", \"-c\", \"ulimit -n; ulimit -t\"]\n\
         rlimits = { open_files = 64, cpu_seconds = 7 }\n",
    );
    let _worker = env.worker(&[]);
    let id = env.enqueue("limits", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], "64\n7", "{record}");
}

#[test]
fn task_events_are_on_the_events_stream() {
    let env =
        Env::with_manifest("[tasks.ok]\nexec = [\"true\"]\n\n[tasks.bad]\nexec = [\"false\"]\n");
    let _worker = env.worker(&[]);
    let ok = env.enqueue("ok", &[]);
    let bad = env.enqueue("bad", &[]);
    env.outcome(&ok);
    env.outcome(&bad);
    let kinds_of = |id: &str| -> Vec<String> {
        let out = env.stem(&["events", "--json", "--limit", "1000"]).success();
        out.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["task_id"] == id)
            .filter_map(|e| e["kind"].as_str().map(String::from))
            .collect()
    };
    // Events are flushed in batches: poll until they show.
    assert!(
        wait_for(PATIENCE, || kinds_of(&ok)
            .contains(&"succeeded".to_string())),
        "{:?}",
        kinds_of(&ok)
    );
    assert!(
        wait_for(PATIENCE, || kinds_of(&bad).contains(&"failed".to_string())),
        "{:?}",
        kinds_of(&bad)
    );
    let ok_kinds = kinds_of(&ok);
    assert!(
        ok_kinds.contains(&"received".to_string()) && ok_kinds.contains(&"started".to_string()),
        "{ok_kinds:?}"
    );
}

#[test]
fn health_reports_services_and_live_workers() {
    let env = Env::with_manifest("[tasks.ok]\nexec = [\"true\"]\n");
    let down = env.stem(&["health", "--json"]);
    assert!(!down.ok(), "no live worker is a failure: {down:?}");
    assert_eq!(down.json()["broker"]["status"]["ok"], true, "{down:?}");
    let services = env.stem(&["health", "--json", "--no-workers-ok"]);
    assert!(services.ok(), "{services:?}");
    let _worker = env.worker(&["--heartbeat", "200ms"]);
    assert!(
        wait_for(PATIENCE, || env.stem(&["health", "--json"]).ok()),
        "health never saw the worker"
    );
    let up = env.stem(&["health", "--json"]).json();
    assert_eq!(up["ok"], true, "{up}");
    assert_eq!(
        up["workers"]["live"].as_array().map(Vec::len),
        Some(1),
        "{up}"
    );
}

#[test]
fn runtime_rlimits_apply_to_warm_children() {
    let env = Env::with_manifest(
        "[runtimes.sh]\ncommand = [\"sh\", \"child.sh\"]\nisolation = \"pool\"\n\
         rlimits = { open_files = 48 }\n\n[tasks.nofile]\nruntime = \"sh\"\n",
    );
    // A protocol child in shell: says hello, answers one task with its open-files limit.
    env.write(
        "child.sh",
        r#"echo '{"type":"hello","protocol":1,"sdk":"sh","tasks":["nofile"]}'
read -r line
id=$(printf '%s' "$line" | sed 's/.*"id":"\([^"]*\)".*/\1/')
printf '{"type":"result","id":"%s","value":%s}\n' "$id" "$(ulimit -n)"
read -r line
"#,
    );
    let _worker = env.worker(&["--concurrency", "1"]);
    let id = env.enqueue("nofile", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], 48, "{record}");
}
