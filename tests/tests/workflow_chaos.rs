//! Workflows under failure (issue 23), on SQLite, Redis and Postgres: 200 runs of a 5-step
//! workflow with one sleep and one event each, on three workers (2 s leases) — one SIGKILLed
//! while the first steps run, one SIGSTOPped past its lease while the last steps run and then
//! let go — with the events emitted by four concurrent emitters, twice each. Every run
//! completes; each run consumed exactly one event (the emits resumed 200 runs in all); every
//! step's side effect (a line naming run, step and idempotency key, in the running worker's own
//! file) is there once, except steps the killed or frozen worker was running, which may appear
//! once more elsewhere under the same key; and where the frozen worker's late step result
//! competed with its successor's, the journal holds the successor's.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use stem_e2e::chaos::subfolder;
use stem_e2e::stores::{world, Store};
use stem_e2e::{repo_root, wait_for, Env, Worker, PATIENCE};

const RUNS: usize = 200;

const CODE: &str = r#"import os, random, time, uuid
from stem_sdk import run, workflow

HERE = os.path.dirname(os.path.abspath(__file__))

def effect(ctx, step):
    token = uuid.uuid4().hex
    time.sleep(random.uniform(0.02, 0.25))
    with open(os.path.join(HERE, "effects.txt"), "a") as f:
        f.write("%s %s %s %s\n" % (ctx.run_id, step, ctx.idempotency_key, token))
    return token

@workflow("chaos")
def chaos(ctx, n):
    for s in ("s1", "s2"):
        ctx.step(s, effect, ctx, s)
    ctx.sleep("nap", 0.5)
    ev = ctx.wait_for_event("go", "go.%d" % n, timeout=600)
    for s in ("s3", "s4", "s5"):
        ctx.step(s, effect, ctx, s)
    return ev.payload

if __name__ == "__main__":
    run()
"#;

fn manifest() -> String {
    let sdk = repo_root().join("sdk-python");
    format!(
        "[runtimes.python]\ncommand = [\"python3\", \"flows.py\"]\nisolation = \"pool\"\n\
         env = {{ PYTHONPATH = {:?} }}\n\n[workflows.chaos]\nruntime = \"python\"\n\
         queue = \"chaos\"\ntime_limit = \"60s\"\nmax_retries = 5\n\
         retry = {{ backoff = \"fixed\", base = \"100ms\", jitter = false }}\n",
        sdk.display()
    )
}

fn start_worker(env: &Env, name: &str) -> Worker {
    let m = subfolder(env, name, &manifest());
    env.write(&format!("{name}/flows.py"), CODE);
    let args = [
        "--worker-id",
        name,
        "--concurrency",
        "4",
        "--visibility-timeout",
        "2s",
        "--queues",
        "chaos",
    ];
    env.worker_on(&m, &args, &[])
}

/// `(run, step) -> [(key, token)]` from one worker's effects file.
fn effects(env: &Env, worker: &str) -> BTreeMap<(String, String), Vec<(String, String)>> {
    let mut out: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for line in env.read(&format!("{worker}/effects.txt")).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [run, step, key, token] = f[..] {
            out.entry((run.to_string(), step.to_string()))
                .or_default()
                .push((key.to_string(), token.to_string()));
        }
    }
    out
}

fn parallel<T: Send>(items: Vec<T>, threads: usize, f: impl Fn(T) + Sync) {
    let chunks: Vec<Vec<T>> = {
        let mut chunks: Vec<Vec<T>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, item) in items.into_iter().enumerate() {
            chunks[i % threads].push(item);
        }
        chunks
    };
    std::thread::scope(|s| {
        for chunk in chunks {
            let f = &f;
            s.spawn(move || chunk.into_iter().for_each(f));
        }
    });
}

fn count_in(env: &Env, state: &str) -> usize {
    let out = env.stem(&[
        "wf", "ls", "--state", state, "--name", "chaos", "--limit", "1000", "--json",
    ]);
    out.json().as_array().map_or(0, Vec::len)
}

/// Runs by state, and the first few not completed with their journals, for failure messages.
fn states(env: &Env) -> String {
    let all = env
        .stem(&["wf", "ls", "--name", "chaos", "--limit", "1000", "--json"])
        .json();
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    let mut odd = Vec::new();
    for r in all.as_array().into_iter().flatten() {
        let state = r["state"].as_str().unwrap_or_default().to_string();
        if state != "completed" && odd.len() < 3 {
            odd.push(
                env.stem(&["wf", "show", r["id"].as_str().unwrap_or_default(), "--json"])
                    .stdout,
            );
        }
        *by.entry(state).or_default() += 1;
    }
    format!("{by:?}\n{}", odd.join("\n"))
}

fn chaos(store: Store) {
    let Some(env) = world(store, &manifest(), "workflow_chaos") else {
        return;
    };
    let a = start_worker(&env, "a");
    let b = start_worker(&env, "b");
    let _c = start_worker(&env, "c");
    let runs: Vec<usize> = (0..RUNS).collect();
    let ids = std::sync::Mutex::new(BTreeMap::new());
    parallel(runs, 6, |n| {
        let out = env
            .stem(&[
                "wf",
                "start",
                "chaos",
                "--args",
                &format!("[{n}]"),
                "--json",
            ])
            .success();
        let id = out.json()["run"].as_str().unwrap().to_string();
        ids.lock().unwrap().insert(id, n);
    });
    let ids = ids.into_inner().unwrap();

    // a dies while the first steps run.
    let a_started = wait_for(PATIENCE, || env.read("a/effects.txt").lines().count() >= 20);
    assert!(a_started, "a never ran a step\n{}", env.worker_logs());
    kill(Pid::from_raw(a.pid() as i32), Signal::SIGKILL).unwrap();

    let all_waiting = wait_for(PATIENCE * 3, || {
        let out = env
            .stem(&["wf", "waiters", "--limit", "1000", "--json"])
            .success()
            .json();
        out.as_array().map_or(0, Vec::len) == RUNS
    });
    assert!(
        all_waiting,
        "not every run reached its event wait: {}\n{}",
        states(&env),
        env.worker_logs()
    );

    // Four emitters, twice each, while b is frozen past its lease once the last steps run.
    let resumed = std::sync::atomic::AtomicUsize::new(0);
    let emits: Vec<(usize, usize)> = (0..4)
        .flat_map(|e| (0..2).map(move |round| (e, round)))
        .collect();
    std::thread::scope(|s| {
        s.spawn(|| {
            let before = env.read("b/effects.txt").lines().count();
            if wait_for(PATIENCE, || {
                env.read("b/effects.txt").lines().count() >= before + 5
            }) {
                kill(Pid::from_raw(b.pid() as i32), Signal::SIGSTOP).unwrap();
                std::thread::sleep(Duration::from_secs(6));
                kill(Pid::from_raw(b.pid() as i32), Signal::SIGCONT).unwrap();
            }
        });
        parallel(emits, 4, |(_, _)| {
            for n in 0..RUNS {
                let out = env
                    .stem(&[
                        "wf",
                        "emit",
                        &format!("go.{n}"),
                        "--payload",
                        &n.to_string(),
                        "--json",
                    ])
                    .success();
                resumed.fetch_add(
                    out.json()["resumed"].as_u64().unwrap() as usize,
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
        });
    });
    assert_eq!(
        resumed.into_inner(),
        RUNS,
        "each waiting run resumed by exactly one emit"
    );

    let done = wait_for(PATIENCE * 3, || count_in(&env, "completed") == RUNS);
    assert!(done, "runs stuck: {}\n{}", states(&env), env.worker_logs());

    let (on_a, on_b, on_c) = (effects(&env, "a"), effects(&env, "b"), effects(&env, "c"));
    for (id, n) in &ids {
        let run: Value = env.stem(&["wf", "show", id, "--json"]).success().json();
        assert_eq!(run["result"], *n, "run {id} consumed its own event: {run}");
        let steps = run["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 7, "{run}");
        for s in ["s1", "s2", "s3", "s4", "s5"] {
            let key = (id.clone(), s.to_string());
            let lines: Vec<&(String, String)> = [&on_a, &on_b, &on_c]
                .iter()
                .flat_map(|m| m.get(&key).into_iter().flatten())
                .collect();
            assert!(!lines.is_empty(), "{id} {s}: its effect is missing");
            let keys: BTreeSet<&String> = lines.iter().map(|(k, _)| k).collect();
            assert_eq!(
                keys.len(),
                1,
                "{id} {s}: a crash re-run keeps the idempotency key: {lines:?}"
            );
            let extra = lines.len() - 1;
            let at_failure = on_a.contains_key(&key) || on_b.contains_key(&key);
            assert!(
                extra == 0 || (extra == 1 && at_failure),
                "{id} {s}: ran {} times: {lines:?}",
                lines.len()
            );
            let journaled = steps.iter().find(|e| e["name"] == s).unwrap()["result"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(
                lines.iter().any(|(_, t)| *t == journaled),
                "{id} {s}: the journal holds a result no run of the step made"
            );
            // b is frozen only after every run reached its wait, so only the last steps can
            // hold a stale result of b's; s1 or s2 on b and elsewhere is a's kill re-run by b.
            let after_wait = ["s3", "s4", "s5"].contains(&s);
            if extra == 1 && after_wait {
                if let Some(b_lines) = on_b.get(&key) {
                    let elsewhere = on_a.get(&key).or(on_c.get(&key));
                    if elsewhere.is_some() {
                        assert!(
                            b_lines.iter().all(|(_, t)| *t != journaled),
                            "{id} {s}: the frozen worker's stale result was journaled"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn workflow_chaos_sqlite() {
    chaos(Store::Sqlite)
}

#[test]
fn workflow_chaos_redis() {
    chaos(Store::Redis)
}

#[test]
fn workflow_chaos_postgres() {
    chaos(Store::Postgres)
}
