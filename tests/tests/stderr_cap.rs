//! Issue 16: a task writing 10 MB to stderr puts at most a capped share of it into the worker
//! log (one line says the rest was left out); its record still keeps the tail.

use stem_e2e::Env;

#[test]
fn ten_megabytes_of_stderr_are_capped_in_the_worker_log() {
    let env = Env::with_manifest(
        "[tasks.chatty]\nexec = [\"sh\", \"-c\", \"yes 'a line of stderr' | head -c 10000000 >&2; echo last words >&2; exit 4\"]\nmax_retries = 0\n",
    );
    let worker = env.worker(&[]);
    let id = env.enqueue("chatty", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "failure", "{record}");
    assert!(
        record["error"]["traceback"]
            .as_str()
            .unwrap_or_default()
            .contains("last words"),
        "the record keeps the tail: {record}"
    );
    let log = worker.log();
    assert!(
        log.len() < 1_000_000,
        "the worker logged {} bytes of one task's stderr",
        log.len()
    );
    assert!(
        log.contains("is not logged for this task"),
        "{}",
        &log[log.len().saturating_sub(2000)..]
    );
}
