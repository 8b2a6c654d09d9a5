//! Helpers for the workflow tests: a Python module of workflows (an order that charges,
//! calls a task, sleeps, waits for an event; a slow step; a parent and its child run), a world
//! with them declared, and `stem wf` wrappers that poll with deadlines.

use crate::stores::{world, Store};
use crate::{repo_root, wait_for, wait_for_value, Env, Worker, PATIENCE};
use serde_json::Value;

pub const CODE: &str = r#"import os, time
from stem_sdk import run, task, workflow

HERE = os.path.dirname(os.path.abspath(__file__))

def note(line):
    with open(os.path.join(HERE, "effects.txt"), "a") as f:
        f.write(line + "\n")
    return True

def variant():
    path = os.path.join(HERE, "variant.txt")
    return open(path).read().strip() if os.path.exists(path) else "charge"

@task("add")
def add(a, b):
    return a + b

@workflow("order")
def order(ctx, oid, timeout=60):
    def charge():
        note("%s charge %s" % (oid, ctx.idempotency_key))
        return 42
    charged = ctx.step(variant(), charge)
    total = ctx.call("add", [charged, 8])
    ctx.sleep("cool_off", 0.3)
    ev = ctx.wait_for_event("shipped", "shipment." + oid, timeout=timeout)
    ctx.step("done", note, "%s done" % oid)
    return {"total": total, "tracking": None if ev.timed_out else ev.payload["tracking"]}

@workflow("slow")
def slow(ctx):
    ctx.step("nap", lambda: (open(os.path.join(HERE, "nap.pid"), "w").write(str(os.getpid())), time.sleep(120)))
    return "woke"

@workflow("parent")
def parent(ctx, n):
    return ctx.start_child("kid", "kid", [n]) + 1

@workflow("secret")
def secret(ctx, word):
    echoed = ctx.step("echo", lambda: word + "_STEP")
    ev = ctx.wait_for_event("reply", "reply.topic", timeout=60)
    return {"echoed": echoed, "reply": ev.payload}

@workflow("kid")
def kid(ctx, n):
    return ctx.step("double", lambda: n * 2)

if __name__ == "__main__":
    run()
"#;

pub fn setup(store: Store, test: &str) -> Option<Env> {
    let sdk = repo_root().join("sdk-python");
    let mut m = format!(
        "[runtimes.python]\ncommand = [\"python3\", \"flows.py\"]\nisolation = \"pool\"\n\
         env = {{ PYTHONPATH = {:?} }}\n\n[tasks.add]\nruntime = \"python\"\nqueue = \"math\"\n",
        sdk.display()
    );
    for w in ["order", "slow", "parent", "kid", "secret"] {
        m.push_str(&format!(
            "\n[workflows.{w}]\nruntime = \"python\"\nqueue = \"flows\"\ntime_limit = \"150s\"\nmax_retries = 2\n"
        ));
    }
    let env = world(store, &m, test)?;
    env.write("flows.py", CODE);
    Some(env)
}

pub fn worker(env: &Env) -> Worker {
    env.worker(&["--concurrency", "4", "--queues", "flows,math"])
}

pub fn start(env: &Env, workflow: &str, args: &str) -> String {
    let out = env
        .stem(&["wf", "start", workflow, "--args", args, "--json"])
        .success();
    out.json()["run"].as_str().expect("a run id").to_string()
}

pub fn show(env: &Env, run: &str) -> Value {
    env.stem(&["wf", "show", run, "--json"]).success().json()
}

pub fn state_of(env: &Env, run: &str) -> String {
    show(env, run)["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub fn wait_state(env: &Env, run: &str, want: &str) -> Value {
    wait_for_value(PATIENCE, || {
        Some(show(env, run)).filter(|v| v["state"] == want)
    })
    .unwrap_or_else(|| {
        panic!(
            "run {run} never became {want}: {}\n{}",
            show(env, run),
            env.worker_logs()
        )
    })
}

/// Waits until `run` waits on `topic`, then emits `payload` there (until it resumed someone).
pub fn emit_when_waiting(env: &Env, run: &str, topic: &str, payload: &str) {
    let waiting = wait_for(PATIENCE, || {
        let out = env
            .stem(&["wf", "waiters", "--topic", topic, "--json"])
            .success()
            .json();
        out.as_array()
            .is_some_and(|ws| ws.iter().any(|w| w["run"] == run))
    });
    assert!(
        waiting,
        "run {run} never waited on {topic}: {}\n{}",
        show(env, run),
        env.worker_logs()
    );
    let out = env
        .stem(&["wf", "emit", topic, "--payload", payload, "--json"])
        .success()
        .json();
    assert_eq!(out["resumed"], 1, "{out}");
}
