//! The workflow API of `stem serve` for its tests: a Python module of two workflows (an order
//! that charges, waits for its shipment event and finishes; a slow step), a world declaring
//! them, and requests that start, read and wait on runs (a waiter, a state) with deadlines.

use crate::http::{Reply, Server};
use crate::{repo_root, wait_for, wait_for_value, Env, Worker, PATIENCE};
use serde_json::Value;

/// The workflows, run by the Python SDK from the world's `flows.py`.
pub const CODE: &str = r#"import os, time
from stem_sdk import run, workflow

HERE = os.path.dirname(os.path.abspath(__file__))

def note(line):
    with open(os.path.join(HERE, "effects.txt"), "a") as f:
        f.write(line + "\n")
    return line

@workflow("order")
def order(ctx, oid):
    charged = ctx.step("charge", lambda: note("charge " + oid) and 42)
    ev = ctx.wait_for_event("shipped", "shipment." + oid, timeout=120)
    ctx.step("done", note, "done " + oid)
    return {"charged": charged, "tracking": ev.payload["tracking"]}

@workflow("slow")
def slow(ctx):
    ctx.step("nap", lambda: time.sleep(120))
    return "woke"

if __name__ == "__main__":
    run()
"#;

/// A world declaring the two workflows of [`CODE`] on queue `flows`.
pub fn world() -> Env {
    let sdk = repo_root().join("sdk-python");
    let mut m = format!(
        "[runtimes.python]\ncommand = [\"python3\", \"flows.py\"]\nisolation = \"pool\"\n\
         env = {{ PYTHONPATH = {:?} }}\n",
        sdk.display()
    );
    for w in ["order", "slow"] {
        m.push_str(&format!(
            "\n[workflows.{w}]\nruntime = \"python\"\nqueue = \"flows\"\ntime_limit = \"150s\"\n"
        ));
    }
    let env = Env::with_manifest(&m);
    env.write("flows.py", CODE);
    env
}

/// A worker (concurrency 3) of queue `flows`.
pub fn worker(env: &Env) -> Worker {
    env.worker(&["--concurrency", "3", "--queues", "flows"])
}

/// `POST /v1/workflows/WORKFLOW/runs` with `body`.
pub fn start(server: &Server, workflow: &str, body: Value) -> Reply {
    server.post(&format!("/v1/workflows/{workflow}/runs"), &body.to_string())
}

/// `s` as one URL path segment.
pub fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// The run as `GET /v1/workflows/runs/ID` shows it (asserting it is found).
pub fn run(server: &Server, id: &str) -> Value {
    let reply = server.get(&format!("/v1/workflows/runs/{}", seg(id)));
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body
}

/// Waits until `run` waits on `topic`, as the waiters listing says.
pub fn wait_waiting(server: &Server, env: &Env, id: &str, topic: &str) {
    let waiting = wait_for(PATIENCE, || {
        let reply = server.get(&format!("/v1/workflows/waiters?topic={}", seg(topic)));
        reply.body["waiters"]
            .as_array()
            .is_some_and(|ws| ws.iter().any(|w| w["run"] == id))
    });
    assert!(
        waiting,
        "run {id} never waited on {topic}: {}\n{}",
        run(server, id),
        env.worker_logs()
    );
}

/// Long-polls the run until it is `want` (each poll waits up to 20 s).
pub fn wait_state(server: &Server, env: &Env, id: &str, want: &str) -> Value {
    wait_for_value(PATIENCE, || {
        let view = server
            .get(&format!("/v1/workflows/runs/{}?wait=20", seg(id)))
            .body;
        (view["state"] == want).then_some(view)
    })
    .unwrap_or_else(|| {
        panic!(
            "run {id} never became {want}: {}\n{}",
            run(server, id),
            env.worker_logs()
        )
    })
}

/// Asserts `reply` is an error of `status` and `code` whose message says `says`.
pub fn assert_error(reply: &Reply, status: u16, code: &str, says: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.body["error"]["code"], code, "{reply:?}");
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{message:?} does not say {says:?}");
}
