//! Issue 3 on a real Redis: a worker SIGKILLed with tasks in flight (another worker, or the same
//! one restarted, finishes them; none is lost; only the killed ones run twice), a task three
//! times longer than the visibility timeout runs once, twenty workers started at once all come
//! up, and a private Redis killed and restarted under load loses no enqueued task.
//! Runs when `STEM_TEST_REDIS_URL` is set; says it skips otherwise.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;
use stem_e2e::chaos::{
    assert_only_left_behind_ran_twice, counts, note_manifest, subfolder, worker_args,
};
use stem_e2e::private_redis::{free_port, PrivateRedis};
use stem_e2e::{service_url, unique_namespace, wait_for, Env, Worker, PATIENCE};

const REDIS: &str = "STEM_TEST_REDIS_URL";

/// The task ids `consumer` holds un-acknowledged in the default queue (priority 0): the
/// deliveries a worker killed now leaves behind, which alone may run again.
fn unacked_ids(url: &str, ns: &str, consumer: &str) -> BTreeSet<String> {
    const SCRIPT: &str = "local out = {} \
        for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 10000, ARGV[2])) do \
          for _, entry in ipairs(redis.call('XRANGE', KEYS[1], p[1], p[1])) do \
            for i = 1, #entry[2], 2 do \
              if entry[2][i] == 'e' then out[#out + 1] = cjson.decode(entry[2][i + 1]).id end \
            end \
          end \
        end \
        return out";
    let out = Command::new("redis-cli")
        .args(["-u", url, "EVAL", SCRIPT, "1"])
        .arg(format!("{ns}:q:default:p0"))
        .args([ns, consumer])
        .output()
        .expect("run redis-cli");
    assert!(out.status.success(), "redis-cli failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn redis_a_killed_workers_tasks_are_finished_by_another_and_only_they_run_twice() {
    let test = "redis_a_killed_workers_tasks_are_finished_by_another_and_only_they_run_twice";
    let Some(url) = service_url(REDIS, test) else {
        return;
    };
    let manifest = note_manifest("0.5");
    let ns = unique_namespace();
    let env = Env::with_broker(&manifest, &url, &ns);
    let a_manifest = subfolder(&env, "a", &manifest);
    let b_manifest = subfolder(&env, "b", &manifest);
    env.stem(&["enqueue", "note", "--repeat", "60"]).success();
    let mut a = env.worker_on(&a_manifest, &worker_args("a", "4"), &[]);
    let mut b = env.worker_on(&b_manifest, &worker_args("b", "4"), &[]);

    let started = wait_for(PATIENCE, || env.read("a/ran.txt").lines().count() >= 6);
    assert!(started, "worker a ran nothing\n{}", env.worker_logs());
    a.kill();
    let left_behind = unacked_ids(&url, &ns, "a");

    let all = || -> BTreeSet<String> {
        let mut ids: BTreeSet<String> = counts(&env, "a/ran.txt").into_keys().collect();
        ids.extend(counts(&env, "b/ran.txt").into_keys());
        ids
    };
    let done = wait_for(Duration::from_secs(90), || {
        all().len() >= 60 && env.queue_drained("default")
    });
    assert!(
        done,
        "{} of 60 tasks ran; queue {}\n{}",
        all().len(),
        env.queue_counts("default"),
        env.worker_logs()
    );

    assert_only_left_behind_ran_twice(&env, 60, &all(), &left_behind);
    b.assert_alive();
}

#[test]
fn redis_a_worker_restarted_after_sigkill_resumes_its_own_tasks() {
    let test = "redis_a_worker_restarted_after_sigkill_resumes_its_own_tasks";
    let Some(url) = service_url(REDIS, test) else {
        return;
    };
    let ns = unique_namespace();
    let env = Env::with_broker(&note_manifest("0.3"), &url, &ns);
    env.stem(&["enqueue", "note", "--repeat", "40"]).success();
    let mut first = env.worker(&worker_args("same", "4"));
    let started = wait_for(PATIENCE, || env.read("ran.txt").lines().count() >= 6);
    assert!(started, "the worker ran nothing\n{}", env.worker_logs());
    first.kill();
    let left_behind = unacked_ids(&url, &ns, "same");

    let mut again = env.worker(&worker_args("same", "4"));
    let done = wait_for(Duration::from_secs(90), || {
        counts(&env, "ran.txt").len() >= 40 && env.queue_drained("default")
    });
    let ran = counts(&env, "ran.txt");
    assert!(
        done,
        "{} of 40 tasks ran; queue {}\n{}",
        ran.len(),
        env.queue_counts("default"),
        env.worker_logs()
    );
    assert_eq!(ran.len(), 40, "{ran:?}");
    let twice: BTreeSet<String> = ran
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(k, _)| k.clone())
        .collect();
    assert!(ran.values().all(|&n| n <= 2), "a task ran 3 times: {ran:?}");
    assert!(
        !twice.is_empty() && twice.is_subset(&left_behind),
        "only tasks the killed worker left un-acknowledged may run twice: ran twice {twice:?}, \
         left behind {left_behind:?}"
    );
    again.assert_alive();
}

#[test]
fn redis_a_task_three_times_longer_than_the_visibility_timeout_runs_once() {
    let test = "redis_a_task_three_times_longer_than_the_visibility_timeout_runs_once";
    let Some(url) = service_url(REDIS, test) else {
        return;
    };
    let env = Env::with_broker(&note_manifest("6.5"), &url, &unique_namespace());
    // Two workers: the idle one would take the task over if its lease ever lapsed.
    let _a = env.worker(&worker_args("a", "2"));
    let _b = env.worker(&worker_args("b", "2"));
    let id = env.enqueue("note", &[]);
    let record = env.outcome_within(&id, Duration::from_secs(90));
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["attempt"], 1, "{record}");
    let ran = counts(&env, "ran.txt");
    assert_eq!(ran.get(&id), Some(&1), "ran {ran:?}\n{}", env.worker_logs());
}

#[test]
fn redis_twenty_workers_started_at_once_on_a_fresh_namespace_all_come_up() {
    let test = "redis_twenty_workers_started_at_once_on_a_fresh_namespace_all_come_up";
    let Some(url) = service_url(REDIS, test) else {
        return;
    };
    let env = Env::with_broker(&note_manifest("0"), &url, &unique_namespace());
    let names: Vec<String> = (0..20).map(|i| format!("w{i:02}")).collect();
    let mut workers: Vec<Worker> = names
        .iter()
        .map(|n| env.worker(&["--worker-id", n, "--concurrency", "1"]))
        .collect();

    let mut answered = BTreeSet::new();
    let all_up = wait_for(Duration::from_secs(90), || {
        let ping = env.stem(&["worker", "ping", "--json", "--timeout", "3s"]);
        if ping.ok() {
            if let Some(map) = ping.json().as_object() {
                answered.extend(map.keys().cloned());
            }
        }
        answered.len() >= 20
    });
    assert!(
        all_up,
        "only {} of 20 answered: {answered:?}\n{}",
        answered.len(),
        env.worker_logs()
    );
    let expected: BTreeSet<String> = names.iter().cloned().collect();
    assert_eq!(answered, expected);
    let listed = env.stem(&["observe", "workers", "--json"]).success().json();
    let listed: BTreeSet<String> = listed
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|w| w["worker"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(listed, expected, "observe workers");
    // They also work: one task each on average, all done.
    env.stem(&["enqueue", "note", "--repeat", "20"]).success();
    let done = wait_for(PATIENCE, || {
        counts(&env, "ran.txt").len() >= 20 && env.queue_drained("default")
    });
    assert!(done, "{:?}\n{}", counts(&env, "ran.txt"), env.worker_logs());
    for w in &mut workers {
        w.assert_alive();
    }
}

/// Enqueues `note` with the given id; whether `stem enqueue` reported it enqueued.
fn try_enqueue(env: &Env, id: &str) -> bool {
    env.stem(&["enqueue", "note", "--id", id, "--json"]).ok()
}

#[test]
fn redis_workers_carry_on_when_redis_is_killed_and_restarted() {
    let test = "redis_workers_carry_on_when_redis_is_killed_and_restarted";
    if service_url(REDIS, test).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().expect("a temp dir");
    let Some(server) = PrivateRedis::start(free_port(), tmp) else {
        eprintln!("{test}: no redis-server on PATH: skipping");
        return;
    };
    let env = Env::with_broker(&note_manifest("0.1"), &server.url(), &unique_namespace());
    let mut enqueued = Vec::new();
    for i in 0..30 {
        let id = format!("before-{i}");
        if try_enqueue(&env, &id) {
            enqueued.push(id);
        }
    }
    assert_eq!(enqueued.len(), 30, "enqueue failed on a healthy Redis");
    let mut a = env.worker(&worker_args("a", "3"));
    let mut b = env.worker(&worker_args("b", "3"));
    let draining = wait_for(PATIENCE, || env.read("ran.txt").lines().count() >= 8);
    assert!(draining, "nothing ran\n{}", env.worker_logs());

    let server = server.crash_and_restart(Duration::from_secs(1));
    for i in 0..30 {
        let id = format!("after-{i}");
        if try_enqueue(&env, &id) {
            enqueued.push(id);
        }
    }
    assert!(
        enqueued.len() >= 50,
        "enqueue kept failing after the restart"
    );

    let missing = || -> Vec<String> {
        let ran = counts(&env, "ran.txt");
        enqueued
            .iter()
            .filter(|id| !ran.contains_key(*id))
            .cloned()
            .collect()
    };
    let all_ran = wait_for(Duration::from_secs(90), || missing().is_empty());
    assert!(
        all_ran,
        "{} enqueued tasks never ran: {:?}\n{}",
        missing().len(),
        missing(),
        env.worker_logs()
    );
    for id in &enqueued {
        let record = env.outcome(id);
        assert_eq!(record["state"], "success", "{record}");
    }
    a.assert_alive();
    b.assert_alive();
    drop((a, b));
    drop(server);
}
