//! Issue 2: two `stem worker` processes on one SQLite file drain 500 `exec` tasks, and each
//! task runs exactly once (its id appended once to a shared file).

use std::collections::HashSet;
use std::time::Duration;
use stem_e2e::{wait_for, Env};

#[test]
fn two_workers_run_each_of_500_tasks_exactly_once() {
    let env = Env::with_manifest(
        "[tasks.note]\nexec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> ran.txt\"]\nmax_retries = 0\n",
    );
    env.stem(&["enqueue", "note", "--repeat", "500"]).success();
    let mut a = env.worker(&["--concurrency", "4", "--worker-id", "a"]);
    let mut b = env.worker(&["--concurrency", "4", "--worker-id", "b"]);

    let lines = || env.read("ran.txt").lines().count();
    let drained = wait_for(Duration::from_secs(300), || {
        lines() >= 500 && env.queue_drained("default")
    });
    assert!(
        drained,
        "only {} of 500 ran; queue {}",
        lines(),
        env.queue_counts("default")
    );

    let text = env.read("ran.txt");
    let ids: Vec<&str> = text.lines().collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), 500, "tasks ran {} times in all", ids.len());
    assert_eq!(unique.len(), 500, "{} distinct tasks ran", unique.len());
    a.assert_alive();
    b.assert_alive();
}
