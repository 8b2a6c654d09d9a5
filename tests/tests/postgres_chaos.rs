//! Issue 6 on a real Postgres: two workers run each of 1,000 tasks exactly once; a worker
//! SIGKILLed mid-run has its tasks reclaimed after the lease, none lost; workers whose database
//! connections are all terminated while they drain (standing in for a Postgres restart, which
//! would disturb other tests sharing the cluster) reconnect and finish every task.
//! Runs when `STEM_TEST_POSTGRES_URL` is set; says it skips otherwise.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;
use stem_e2e::chaos::{
    assert_only_left_behind_ran_twice, counts, note_manifest, subfolder, worker_args,
};
use stem_e2e::pg::with_application_name;
use stem_e2e::{service_url, unique_namespace, wait_for, Env, PATIENCE};

const POSTGRES: &str = "STEM_TEST_POSTGRES_URL";

#[test]
fn postgres_two_workers_run_each_of_1000_tasks_exactly_once() {
    let test = "postgres_two_workers_run_each_of_1000_tasks_exactly_once";
    let Some(url) = service_url(POSTGRES, test) else {
        return;
    };
    let env = Env::with_broker(&note_manifest("0"), &url, &unique_namespace());
    env.stem(&["enqueue", "note", "--repeat", "1000"]).success();
    let mut a = env.worker(&worker_args("a", "4"));
    let mut b = env.worker(&worker_args("b", "4"));
    let lines = || env.read("ran.txt").lines().count();
    let drained = wait_for(Duration::from_secs(300), || {
        lines() >= 1000 && env.queue_drained("default")
    });
    assert!(
        drained,
        "only {} of 1000 ran; queue {}\n{}",
        lines(),
        env.queue_counts("default"),
        env.worker_logs()
    );
    let ran = counts(&env, "ran.txt");
    let twice: Vec<_> = ran.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "ran more than once: {twice:?}");
    assert_eq!(ran.len(), 1000, "{} distinct tasks ran", ran.len());
    a.assert_alive();
    b.assert_alive();
}

/// The task ids still leased to `owner`: the deliveries a worker killed now leaves behind,
/// which alone may run again.
fn leased_ids(url: &str, ns: &str, owner: &str) -> BTreeSet<String> {
    let sql = format!("SELECT task_id FROM {ns}.tasks WHERE lease_owner = '{owner}'");
    let out = Command::new("psql")
        .args(["-At", url, "-c", &sql])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "psql failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn postgres_a_killed_workers_tasks_are_reclaimed_after_the_lease() {
    let test = "postgres_a_killed_workers_tasks_are_reclaimed_after_the_lease";
    let Some(url) = service_url(POSTGRES, test) else {
        return;
    };
    let manifest = note_manifest("0.3");
    let ns = unique_namespace();
    let env = Env::with_broker(&manifest, &url, &ns);
    let a_manifest = subfolder(&env, "a", &manifest);
    let b_manifest = subfolder(&env, "b", &manifest);
    env.stem(&["enqueue", "note", "--repeat", "100"]).success();
    let mut a = env.worker_on(&a_manifest, &worker_args("a", "4"), &[]);
    let mut b = env.worker_on(&b_manifest, &worker_args("b", "4"), &[]);
    let started = wait_for(PATIENCE, || env.read("a/ran.txt").lines().count() >= 6);
    assert!(started, "worker a ran nothing\n{}", env.worker_logs());
    a.kill();
    let left_behind = leased_ids(&url, &ns, "a");

    let union = || {
        let mut all = counts(&env, "a/ran.txt");
        for (id, n) in counts(&env, "b/ran.txt") {
            *all.entry(id).or_default() += n;
        }
        all
    };
    let done = wait_for(Duration::from_secs(120), || {
        union().len() >= 100 && env.queue_drained("default")
    });
    assert!(
        done,
        "{} of 100 ran; queue {}\n{}",
        union().len(),
        env.queue_counts("default"),
        env.worker_logs()
    );
    assert_only_left_behind_ran_twice(&env, 100, &union().into_keys().collect(), &left_behind);
    b.assert_alive();
}

/// Terminates every backend named `name` except psql's own; how many it ended.
fn terminate_backends(url: &str, name: &str) -> usize {
    let sql = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = '{name}' AND pid <> pg_backend_pid()"
    );
    let out = Command::new("psql")
        .args(["-At", url, "-c", &sql])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "psql failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn postgres_workers_reconnect_when_their_connections_are_terminated() {
    let test = "postgres_workers_reconnect_when_their_connections_are_terminated";
    let Some(url) = service_url(POSTGRES, test) else {
        return;
    };
    let ns = unique_namespace();
    let named = with_application_name(&url, &ns);
    let env = Env::with_broker(&note_manifest("0.05"), &named, &ns);
    env.stem(&["enqueue", "note", "--repeat", "300"]).success();
    let mut a = env.worker(&worker_args("a", "3"));
    let mut b = env.worker(&worker_args("b", "3"));
    let draining = wait_for(PATIENCE, || env.read("ran.txt").lines().count() >= 20);
    assert!(draining, "nothing ran\n{}", env.worker_logs());

    // Four rounds of "the server went away" while the queue drains.
    let mut ended = 0;
    for _ in 0..4 {
        ended += terminate_backends(&url, &ns);
        std::thread::sleep(Duration::from_millis(700));
    }
    assert!(ended > 0, "no worker connection was found to terminate");
    let mut later = Vec::new();
    for i in 0..10 {
        let id = format!("later-{i}");
        env.stem(&["enqueue", "note", "--id", &id]).success();
        later.push(id);
    }

    let done = wait_for(Duration::from_secs(120), || {
        counts(&env, "ran.txt").len() >= 310 && env.queue_drained("default")
    });
    let ran = counts(&env, "ran.txt");
    assert!(
        done,
        "{} of 310 ran after {ended} connections were terminated; queue {}\n{}",
        ran.len(),
        env.queue_counts("default"),
        env.worker_logs()
    );
    assert_eq!(ran.len(), 310);
    for id in &later {
        assert_eq!(env.outcome(id)["state"], "success");
    }
    a.assert_alive();
    b.assert_alive();
}
