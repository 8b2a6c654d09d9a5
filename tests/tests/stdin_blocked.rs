//! Issue 4, robust I/O: a protocol child that never reads its stdin, sent a task line bigger
//! than the pipe buffer, still meets its hard limit (the write does not block the supervisor).

use stem_e2e::Env;

#[test]
fn a_child_that_never_reads_stdin_is_killed_at_its_hard_limit() {
    let hello = r#"{"type":"hello","protocol":1,"sdk":"sh","tasks":["deaf"]}"#;
    let env = Env::with_manifest(&format!(
        "[runtimes.deaf]\ncommand = [\"sh\", \"-c\", {:?}]\n\n\
         [tasks.deaf]\nruntime = \"deaf\"\ntime_limit = \"2s\"\nmax_retries = 0\n",
        format!("echo '{hello}'; exec sleep 1000")
    ));
    let _worker = env.worker(&[]);
    let big = format!("[{:?}]", "x".repeat(100 * 1024));
    let id = env.enqueue("deaf", &["--args", &big]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["error"]["type"], "TimeLimitExceeded", "{record}");
    // The worker carries on with the next task.
    let next = env.enqueue("deaf", &[]);
    assert_eq!(env.outcome(&next)["error"]["type"], "TimeLimitExceeded");
}
