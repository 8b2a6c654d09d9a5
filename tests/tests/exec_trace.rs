//! An `exec` task gets the trace it belongs to as `TRACEPARENT` in its environment (as SDK
//! tasks do), so a program's own spans join the producer's trace; a malformed header is
//! replaced by the producer with a trace of its own.

use stem_e2e::Env;

const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn an_exec_task_gets_its_traceparent() {
    let env = Env::with_manifest(
        "[tasks.show]\nexec = [\"sh\", \"-c\", \"printf '\\\"%s\\\"' \\\"$TRACEPARENT\\\"\"]\n",
    );
    let _worker = env.worker(&[]);
    let traced = env.enqueue("show", &["--header", &format!("traceparent={TRACE}")]);
    assert_eq!(
        env.outcome(&traced)["result"],
        TRACE,
        "{}",
        env.worker_logs()
    );
    let junk = env.enqueue("show", &["--header", "traceparent=not-a-trace"]);
    let got = env.outcome(&junk)["result"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        got.starts_with("00-") && got.len() == 55,
        "a fresh trace, got {got:?}"
    );
}
