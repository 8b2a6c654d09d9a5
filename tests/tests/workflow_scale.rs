//! Workflows at scale and over time (issue 23), on SQLite: 1,000 runs waiting on 1,000 topics
//! each resumed once by its own event; event waits ending at their timeout (never before); a
//! one-day sleep across worker restarts, the store's clock moved a day ahead (the SQLite file's
//! clock is a row every process reads, so moving it moves every worker's notion of now);
//! `max_suspension` and `max_run_duration` ending runs `timed_out`; and a raised version letting
//! a run whose code changed its steps go on, matching steps by name.

use serde_json::Value;
use stem_e2e::store_edit::sqlite_sql;
use stem_e2e::{repo_root, wait_for, wait_for_value, Env, Worker, PATIENCE};

const CODE: &str = r#"import os
from stem_sdk import run, workflow

HERE = os.path.dirname(os.path.abspath(__file__))

def variant():
    path = os.path.join(HERE, "variant.txt")
    return open(path).read().strip() if os.path.exists(path) else "a"

@workflow("one")
def one(ctx, n, timeout=None):
    ev = ctx.wait_for_event("e", "t.%d" % n, timeout=timeout)
    return "timed out" if ev.timed_out else ev.payload

@workflow("nap")
def nap(ctx):
    ctx.sleep("long", "1d")
    return "rested"

@workflow("bounded")
def bounded(ctx):
    ctx.wait_for_event("never", "nobody.sends.this")
    return "unreachable"

@workflow("lifetime")
def lifetime(ctx):
    for i in range(100):
        ctx.sleep("s%d" % i, 0.3)
    return "unreachable"

@workflow("evolving")
def evolving(ctx):
    first = ctx.step(variant(), lambda: 1)
    ctx.wait_for_event("go", "evolve.go")
    return first + ctx.step("last", lambda: 10)

if __name__ == "__main__":
    run()
"#;

fn manifest(evolving_version: u32) -> String {
    let sdk = repo_root().join("sdk-python");
    format!(
        "[runtimes.python]\ncommand = [\"python3\", \"flows.py\"]\nisolation = \"pool\"\n\
         env = {{ PYTHONPATH = {:?} }}\n\n\
         [workflows.one]\nruntime = \"python\"\n\n\
         [workflows.nap]\nruntime = \"python\"\n\n\
         [workflows.bounded]\nruntime = \"python\"\nmax_suspension = \"1s\"\n\n\
         [workflows.lifetime]\nruntime = \"python\"\nmax_run_duration = \"2s\"\n\n\
         [workflows.evolving]\nruntime = \"python\"\nversion = {evolving_version}\n",
        sdk.display()
    )
}

fn world() -> Env {
    let env = Env::with_manifest(&manifest(1));
    env.write("flows.py", CODE);
    env
}

fn worker(env: &Env) -> Worker {
    env.worker(&["--concurrency", "4"])
}

fn start(env: &Env, workflow: &str, args: &str) -> String {
    let out = env
        .stem(&["wf", "start", workflow, "--args", args, "--json"])
        .success();
    out.json()["run"].as_str().expect("a run id").to_string()
}

fn show(env: &Env, run: &str) -> Value {
    env.stem(&["wf", "show", run, "--json"]).success().json()
}

fn ended(env: &Env, run: &str, state: &str) -> Value {
    wait_for_value(PATIENCE * 2, || {
        Some(show(env, run)).filter(|v| v["state"] == state)
    })
    .unwrap_or_else(|| {
        panic!(
            "run {run} never became {state}: {}\n{}",
            show(env, run),
            env.worker_logs()
        )
    })
}

fn parallel(n: usize, threads: usize, f: impl Fn(usize) + Sync) {
    std::thread::scope(|s| {
        for t in 0..threads {
            let f = &f;
            s.spawn(move || (t..n).step_by(threads).for_each(f));
        }
    });
}

#[test]
fn a_thousand_topics_each_resume_their_run_once() {
    const N: usize = 1000;
    let env = world();
    let _w = worker(&env);
    let runs: Vec<std::sync::Mutex<String>> = (0..N).map(|_| Default::default()).collect();
    parallel(N, 8, |n| {
        *runs[n].lock().unwrap() = start(&env, "one", &format!("[{n}]"))
    });
    let all_waiting = wait_for(PATIENCE * 3, || {
        let out = env
            .stem(&["wf", "waiters", "--limit", "5000", "--json"])
            .success()
            .json();
        out.as_array().map_or(0, Vec::len) == N
    });
    assert!(all_waiting, "{}", env.worker_logs());
    let resumed = std::sync::atomic::AtomicUsize::new(0);
    parallel(N, 8, |n| {
        let out = env
            .stem(&[
                "wf",
                "emit",
                &format!("t.{n}"),
                "--payload",
                &n.to_string(),
                "--json",
            ])
            .success();
        let got = out.json()["resumed"].as_u64().unwrap() as usize;
        assert_eq!(got, 1, "topic t.{n} resumes its one run");
        resumed.fetch_add(got, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(resumed.into_inner(), N);
    let done = wait_for(PATIENCE * 3, || {
        let out = env
            .stem(&[
                "wf",
                "ls",
                "--state",
                "completed",
                "--limit",
                "5000",
                "--json",
            ])
            .success()
            .json();
        out.as_array().map_or(0, Vec::len) == N
    });
    assert!(done, "not every run completed\n{}", env.worker_logs());
    for (n, run) in runs.iter().enumerate().step_by(97) {
        let v = show(&env, &run.lock().unwrap());
        assert_eq!(v["result"], n, "run {n} got its own event: {v}");
        assert_eq!(v["resumes"], 2, "resumed once by its event: {v}");
    }
}

#[test]
fn event_waits_end_at_their_timeout() {
    let env = world();
    let _w = worker(&env);
    let runs: Vec<String> = (0..5)
        .map(|n| start(&env, "one", &format!("[{n}, 2]")))
        .collect();
    for run in &runs {
        let v = ended(&env, run, "completed");
        assert_eq!(v["result"], "timed out", "{v}");
        let step = &v["steps"][0];
        let (deadline, done) = (
            step["deadline"].as_i64().unwrap(),
            step["finished_at"].as_i64().unwrap(),
        );
        assert!(done >= deadline, "never before its timeout: {step}");
        eprintln!(
            "timeout of {run}: {} ms after its deadline",
            done - deadline
        );
        assert_eq!(step["timed_out"], true);
    }
}

#[test]
fn a_day_long_sleep_wakes_across_restarts_when_the_clock_moves() {
    let env = world();
    let w = worker(&env);
    let run = start(&env, "nap", "[]");
    let asleep = wait_for_value(PATIENCE, || {
        Some(show(&env, &run)).filter(|v| v["state"] == "suspended")
    })
    .unwrap_or_else(|| panic!("{}\n{}", show(&env, &run), env.worker_logs()));
    let wake = asleep["steps"][0]["wake_at"].as_i64().unwrap();
    let started = asleep["steps"][0]["started_at"].as_i64().unwrap();
    assert!(
        (86_400_000..86_400_000 + 60_000).contains(&(wake - started)),
        "a day: {asleep}"
    );
    drop(w);
    let w = worker(&env);
    assert!(!wait_for(std::time::Duration::from_secs(2), || show(
        &env, &run
    )["state"]
        != "suspended"));
    drop(w);
    // A day and a minute pass on the store's clock.
    sqlite_sql(&env, "UPDATE stem_clock SET now_ms = now_ms + 86460000");
    let _w = worker(&env);
    let v = ended(&env, &run, "completed");
    assert_eq!(v["result"], "rested", "{v}");
}

#[test]
fn time_bounds_end_runs_timed_out() {
    let env = world();
    let _w = worker(&env);
    let waiting = start(&env, "bounded", "[]");
    let sleeping = start(&env, "lifetime", "[]");
    let a = ended(&env, &waiting, "timed_out");
    assert!(
        a["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("max_suspension"),
        "{a}"
    );
    let b = ended(&env, &sleeping, "timed_out");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("max_run_duration"),
        "{b}"
    );
    let lived = b["finished_at"].as_i64().unwrap() - b["created_at"].as_i64().unwrap();
    assert!(lived >= 2000, "not before its bound: {lived} ms");
    eprintln!(
        "lifetime: ended {} ms after its bound, after {} sleeps",
        lived - 2000,
        b["steps"].as_array().unwrap().len()
    );
    let suspended = a["finished_at"].as_i64().unwrap() - a["suspended_at"].as_i64().unwrap();
    assert!(suspended >= 1000, "not before its bound: {suspended} ms");
    assert!(env
        .stem(&["wf", "waiters", "--json"])
        .success()
        .json()
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_raised_version_replays_by_step_name() {
    let env = world();
    let w = worker(&env);
    let run = start(&env, "evolving", "[]");
    wait_for(PATIENCE, || show(&env, &run)["state"] == "suspended");
    // The code renames its first step and the manifest raises the version.
    drop(w);
    env.write("variant.txt", "b");
    env.write("stem.toml", &manifest(2));
    let _w = worker(&env);
    env.stem(&["wf", "emit", "evolve.go"]).success();
    let v = ended(&env, &run, "completed");
    assert_eq!(v["result"], 11, "{v}");
    let names: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["a", "go", "b", "last"],
        "the old step kept, the new one run: {v}"
    );
    assert_eq!(
        v["version"], 1,
        "the run keeps the version it started under"
    );
}
