//! A frozen worker never keeps another from taking its tasks over, on a real Postgres: worker
//! `a` (1 s lease, four slots) drains many small tasks while it is frozen (SIGSTOP) again and
//! again at random moments for a moment — while it fetches, extends and commits — until a
//! freeze catches it inside an open transaction that has written rows (the worst case: those
//! rows stay locked while `a` is stopped), or the tries run out; then it stays frozen. With `a`
//! stopped, worker `b` must drain everything within the lease and a few seconds.
//! Runs when `STEM_TEST_POSTGRES_URL` is set; says it skips otherwise.

use nix::sys::signal::Signal;
use std::time::Duration;
use stem_e2e::chaos::Rng;
use stem_e2e::pg::{locking_transactions, with_application_name};
use stem_e2e::stores::POSTGRES;
use stem_e2e::{fake_runtime, service_url, unique_namespace, wait_for, Env, PATIENCE};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");
const TASKS: usize = 3000;
const FREEZES: usize = 60;

/// The workers' lease, and how long `b` may take once `a` is frozen for good: the lease, then a
/// few seconds of work, with a busy machine's margin.
const LEASE: Duration = Duration::from_secs(1);
const BOUND: Duration = Duration::from_secs(LEASE.as_secs() + 20);

fn args(id: &str) -> [&str; 6] {
    [
        "--worker-id",
        id,
        "--concurrency",
        "4",
        "--visibility-timeout",
        "1s",
    ]
}

#[test]
fn postgres_a_frozen_worker_never_keeps_another_from_taking_its_tasks_over() {
    let test = "postgres_a_frozen_worker_never_keeps_another_from_taking_its_tasks_over";
    let Some(url) = service_url(POSTGRES, test) else {
        return;
    };
    let ns = unique_namespace();
    let env = Env::with_broker(
        &format!(
            "{}pool_size = 4\n\n[tasks.echo]\nruntime = \"fake\"\nmax_retries = 0\n",
            fake_runtime("fake", FAKE, "pool")
        ),
        &url,
        &ns,
    );
    env.stem(&["enqueue", "echo", "--repeat", &TASKS.to_string()])
        .success();
    let name = format!("{ns}_a");
    let a_url = with_application_name(&url, &name);
    let a = env.worker_with_env(&args("a"), &[("STEM_BROKER_URL", &a_url)]);
    let draining = wait_for(PATIENCE, || {
        env.queue_counts("default")["ready"].as_u64().unwrap_or(0) < TASKS as u64 - 50
    });
    assert!(draining, "a does not drain\n{}", env.worker_logs());

    let mut rng = Rng::seeded(test);
    let mut caught = Vec::new();
    let mut freezes = 0;
    while freezes < FREEZES {
        std::thread::sleep(rng.below(Duration::from_millis(100)));
        a.signal(Signal::SIGSTOP);
        freezes += 1;
        caught = locking_transactions(&url, &name, &ns);
        if !caught.is_empty() {
            break;
        }
        a.signal(Signal::SIGCONT);
    }
    // Frozen for good now (stopping a stopped process again changes nothing).
    a.signal(Signal::SIGSTOP);
    let left = env.queue_counts("default");
    eprintln!("{test}: frozen for good after {freezes} freeze(s); holding row locks: {caught:?}; queue {left}");

    let b = env.worker(&args("b"));
    let drained = wait_for(BOUND, || env.queue_drained("default"));
    let report = if drained {
        String::new()
    } else {
        format!(
            "with a frozen (its transactions holding row locks: {caught:?}), b did not drain \
             the queue within {LEASE:?} + a few seconds: queue {} (it was {left} at the freeze); \
             a's locking transactions now: {:?}\n{}",
            env.queue_counts("default"),
            locking_transactions(&url, &name, &ns),
            env.worker_logs()
        )
    };
    // Let a go first: its locks go with it, so b (perhaps stuck behind them) stops promptly too.
    a.signal(Signal::SIGCONT);
    assert!(drained, "{report}");
    drop(a);
    drop(b);
}
