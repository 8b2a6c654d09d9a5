//! Kills in the commit path: a worker SIGKILLed at a random moment while it runs, records,
//! acks, retries and dead-letters a small mixed batch (tasks that succeed, that fail with no
//! retries, that fail once then succeed), then a fresh worker drains what is left. Twenty runs
//! per store, each on its own queue; after each, every task has one terminal record of the
//! state it must end in, a failure record ⇔ exactly one dead letter, and the queue holds
//! nothing ready, delayed or leased.
//! SQLite always; Redis and Postgres when `STEM_TEST_REDIS_URL` / `STEM_TEST_POSTGRES_URL`
//! are set (they say they skip otherwise).

use std::time::{Duration, Instant};
use stem_e2e::chaos::Rng;
use stem_e2e::outcomes::assert_consistent;
use stem_e2e::stores::{world, Store};
use stem_e2e::{Env, Worker, PATIENCE};

const RUNS: u32 = 20;

/// The kill moments of the runs are spread over this window after the batch's first task
/// started (each run a random moment in its twentieth of it): from mid-run to all committed.
const WINDOW: Duration = Duration::from_millis(200);

/// One run's batch: each task's kind and the state it must end in.
const BATCH: [(&str, &str); 4] = [
    ("ok", "success"),
    ("bad", "failure"),
    ("flaky", "success"),
    ("ok", "success"),
];

fn manifest() -> String {
    "[tasks.ok]\nexec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> ran.txt\"]\nmax_retries = 0\n\n\
     [tasks.bad]\nexec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> ran.txt; exit 1\"]\n\
     max_retries = 0\n\n\
     [tasks.flaky]\nexec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> ran.txt; test $STEM_ATTEMPT -gt 1\"]\n\
     max_retries = 1\nretry = { backoff = \"fixed\", base = \"50ms\", jitter = false }\n"
        .to_string()
}

fn worker(env: &Env, id: &str, queue: &str) -> Worker {
    env.worker(&[
        "--worker-id",
        id,
        "--queues",
        queue,
        "--concurrency",
        "2",
        "--visibility-timeout",
        "1s",
    ])
}

/// Waits (polling every few ms, so the kill moment is not blurred) until one of `ids` ran.
fn until_one_ran(env: &Env, ids: &[String]) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        let ran = env.read("ran.txt");
        if ids.iter().any(|id| ran.contains(id.as_str())) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("no task of {ids:?} ran\n{}", env.worker_logs());
}

fn kill_runs(store: Store, test: &str) {
    let Some(env) = world(store, &manifest(), test) else {
        return;
    };
    let mut rng = Rng::seeded(test);
    let mut left_behind = 0;
    for run in 0..RUNS {
        let queue = format!("run{run}");
        let mut ids = Vec::new();
        let mut want = Vec::new();
        for (i, (kind, end)) in BATCH.into_iter().enumerate() {
            let id = format!("{queue}-{i}-{kind}");
            env.stem(&["enqueue", kind, "--queue", &queue, "--id", &id])
                .success();
            ids.push(id);
            want.push(end);
        }
        let mut doomed = worker(&env, &format!("killed{run}"), &queue);
        until_one_ran(&env, &ids);
        let slice = WINDOW / RUNS;
        std::thread::sleep(slice * run + rng.below(slice));
        doomed.kill();
        if !env.queue_drained(&queue) {
            left_behind += 1;
        }

        let _fresh = worker(&env, &format!("fresh{run}"), &queue);
        let records = assert_consistent(&env, &ids, &queue);
        for (id, end) in ids.iter().zip(&want) {
            assert_eq!(
                records[id]["state"],
                *end,
                "run {run}: {id} ended wrong: {}\n{}",
                records[id],
                env.worker_logs()
            );
        }
    }
    eprintln!("{test}: {left_behind} of {RUNS} kills left work for the fresh worker");
    assert!(
        left_behind > 0,
        "every kill came after its batch was done: nothing was tested"
    );
}

#[test]
fn sqlite_a_worker_killed_in_its_commit_path_leaves_consistent_outcomes() {
    kill_runs(
        Store::Sqlite,
        "sqlite_a_worker_killed_in_its_commit_path_leaves_consistent_outcomes",
    );
}

#[test]
fn redis_a_worker_killed_in_its_commit_path_leaves_consistent_outcomes() {
    kill_runs(
        Store::Redis,
        "redis_a_worker_killed_in_its_commit_path_leaves_consistent_outcomes",
    );
}

#[test]
fn postgres_a_worker_killed_in_its_commit_path_leaves_consistent_outcomes() {
    kill_runs(
        Store::Postgres,
        "postgres_a_worker_killed_in_its_commit_path_leaves_consistent_outcomes",
    );
}
