//! Lease loss is reported only when a lease was really lost: a healthy worker draining 6,000
//! quick tasks on SQLite with a 1 s lease (extended every third of it, a score of times over the
//! drain) and four slots, alone on its queue, logs no `lease lost` and no `stale commit`.

use stem_e2e::outcomes::stats;
use stem_e2e::{fake_runtime, wait_for, Env, PATIENCE};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");
const TASKS: u64 = 6000;

#[test]
fn a_healthy_drain_logs_no_lost_lease_and_no_stale_commit() {
    let env = Env::with_manifest(&format!(
        "{}pool_size = 4\n\n[tasks.echo]\nruntime = \"fake\"\nmax_retries = 0\n",
        fake_runtime("fake", FAKE, "pool")
    ));
    let mut worker = env.worker(&[
        "--worker-id",
        "healthy",
        "--concurrency",
        "4",
        "--visibility-timeout",
        "1s",
    ]);
    env.stem(&["enqueue", "echo", "--repeat", &TASKS.to_string()])
        .success();
    let succeeded = || {
        stats(&env, "healthy")
            .and_then(|s| s["succeeded"].as_u64())
            .unwrap_or(0)
    };
    let drained = wait_for(PATIENCE * 3, || {
        succeeded() >= TASKS && env.queue_drained("default")
    });
    assert!(
        drained,
        "{} of {TASKS} succeeded; queue {}\n{}",
        succeeded(),
        env.queue_counts("default"),
        env.worker_logs()
    );
    assert_eq!(succeeded(), TASKS, "tasks ran more than once");
    worker.assert_alive();
    drop(worker);
    let log = env.read("worker-0.log");
    for words in ["lease lost", "stale commit"] {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(words)).collect();
        assert!(
            lines.is_empty(),
            "a healthy drain logged {} `{words}` line(s), e.g.:\n{}",
            lines.len(),
            lines.iter().take(5).copied().collect::<Vec<_>>().join("\n")
        );
    }
}
