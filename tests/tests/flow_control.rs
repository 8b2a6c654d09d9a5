//! Flow control from outside, with real workers: a rate limit holds across three workers (no
//! one-second window holds more starts than the rate plus the burst), `max_concurrency` holds
//! across the fleet and a SIGKILLed worker's slot comes back after its lease, `--id` and
//! `unique_for` dedup (also two producers racing), a stored pause outlives worker restarts and
//! refuses unknown queues and holds even what a fetch already waiting brings back, and `--expires` records a task `expired` without running it. The
//! rate and concurrency cases run on SQLite and, when `STEM_TEST_REDIS_URL` is set, on Redis.

use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use stem_e2e::flow::{busiest_second, max_overlap, starts, succeeded};
use stem_e2e::stores::{world, Store};
use stem_e2e::{wait_for, Env, PATIENCE};

fn rate_limit_holds(store: Store, test: &str) {
    let manifest = "[tasks.tick]\nexec = [\"true\"]\nrate_limit = \"10/s\"\nburst = 2\n";
    let Some(env) = world(store, manifest, test) else {
        return;
    };
    let _workers: Vec<_> = (0..3)
        .map(|_| env.worker(&["--concurrency", "4"]))
        .collect();
    env.stem(&["enqueue", "tick", "--repeat", "40"]).success();
    let at = starts(&succeeded(&env, "tick", 40, PATIENCE));
    let busiest = busiest_second(&at);
    assert!(busiest <= 10 + 2, "{busiest} starts in one second: {at:?}");
    let span = at.last().unwrap() - at.first().unwrap();
    assert!(
        span >= 2_500,
        "40 starts at 10/s with burst 2 spread over {span} ms, not ~3.8 s"
    );
}

#[test]
fn rate_limit_holds_across_workers_sqlite() {
    rate_limit_holds(Store::Sqlite, "rate_limit_holds_across_workers_sqlite");
}

#[test]
fn rate_limit_holds_across_workers_redis() {
    rate_limit_holds(Store::Redis, "rate_limit_holds_across_workers_redis");
}

fn concurrency_limit_holds(store: Store, test: &str) {
    let manifest = "[tasks.slow]\nexec = [\"sh\", \"-c\", \"sleep 0.3\"]\nmax_concurrency = 2\n";
    let Some(env) = world(store, manifest, test) else {
        return;
    };
    let _workers: Vec<_> = (0..3)
        .map(|_| env.worker(&["--concurrency", "4"]))
        .collect();
    env.stem(&["enqueue", "slow", "--repeat", "12"]).success();
    let done = succeeded(&env, "slow", 12, PATIENCE);
    let most = max_overlap(&done);
    assert!(
        most <= 2,
        "{most} ran at once with max_concurrency = 2\n{done:?}"
    );
}

#[test]
fn concurrency_limit_holds_across_workers_sqlite() {
    concurrency_limit_holds(
        Store::Sqlite,
        "concurrency_limit_holds_across_workers_sqlite",
    );
}

#[test]
fn concurrency_limit_holds_across_workers_redis() {
    concurrency_limit_holds(Store::Redis, "concurrency_limit_holds_across_workers_redis");
}

#[test]
fn a_killed_workers_slot_comes_back_after_its_lease() {
    // The first run of `hold` sleeps; a run that finds the marker (the redelivery) ends at once.
    let manifest = "[tasks.hold]\nexec = [\"sh\", \"-c\", \"[ -f ran ] && exit 0; touch ran; sleep 30\"]\nmax_concurrency = 1\n";
    let env = Env::with_manifest(manifest);
    let mut first = env.worker(&["--visibility-timeout", "2s"]);
    let a = env.enqueue("hold", &[]);
    env.wait_state(&a, "started");
    first.kill();
    let _second = env.worker(&["--visibility-timeout", "2s"]);
    let b = env.enqueue("hold", &[]);
    assert_eq!(env.outcome(&b)["state"], "success", "{}", env.worker_logs());
    assert_eq!(env.outcome(&a)["state"], "success", "{}", env.worker_logs());
}

fn enqueue_json(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["enqueue", "--json"];
    all.extend_from_slice(args);
    env.stem(&all).success().json()
}

#[test]
fn an_id_is_one_live_task_and_unique_for_a_window() {
    let manifest = "[tasks.mail]\nexec = [\"true\"]\n\n[tasks.report]\nexec = [\"true\"]\nunique_for = \"2s\"\n";
    let env = Env::with_manifest(manifest);
    let first = enqueue_json(&env, &["mail", "--id", "job-1"]);
    assert_eq!(first["duplicate"], false, "{first}");
    let again = env
        .stem(&["enqueue", "mail", "--id", "job-1", "--json"])
        .success();
    assert_eq!(again.json()["duplicate"], true, "{again:?}");
    assert_eq!(again.json()["id"], "job-1");
    let text = env.stem(&["enqueue", "mail", "--id", "job-1"]).success();
    assert!(
        text.stderr
            .contains("duplicate: task job-1 is already pending"),
        "{text:?}"
    );
    assert_eq!(
        env.queue_counts("default")["ready"],
        1,
        "one task for job-1"
    );

    // Once it finished, the id is free again.
    let _worker = env.worker(&[]);
    assert_eq!(env.outcome("job-1")["state"], "success");
    assert_eq!(
        enqueue_json(&env, &["mail", "--id", "job-1"])["duplicate"],
        false
    );

    // unique_for: the same arguments within the window are one task, even after it finished.
    let one = enqueue_json(&env, &["report", "--args", "[7]"]);
    env.outcome(one["id"].as_str().unwrap());
    let dup = enqueue_json(&env, &["report", "--args", "[7]"]);
    assert_eq!(
        (dup["duplicate"].clone(), dup["id"].clone()),
        (Value::Bool(true), one["id"].clone())
    );
    assert_eq!(
        enqueue_json(&env, &["report", "--args", "[8]"])["duplicate"],
        false
    );
    let after = wait_for(Duration::from_secs(10), || {
        enqueue_json(&env, &["report", "--args", "[7]"])["duplicate"] == false
    });
    assert!(after, "the window ends");

    // --unique-key with a window, whatever the arguments.
    let k = enqueue_json(
        &env,
        &[
            "mail",
            "--unique-key",
            "user-9",
            "--unique-for",
            "1m",
            "--args",
            "[1]",
        ],
    );
    let k2 = enqueue_json(
        &env,
        &[
            "mail",
            "--unique-key",
            "user-9",
            "--unique-for",
            "1m",
            "--args",
            "[2]",
        ],
    );
    assert_eq!(
        (k2["duplicate"].clone(), k2["id"].clone()),
        (Value::Bool(true), k["id"].clone())
    );
    let bad = env.stem(&["enqueue", "mail", "--unique-for", "1m"]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
}

#[test]
fn racing_producers_publish_one_task_per_id() {
    let env = Env::with_manifest("[tasks.mail]\nexec = [\"true\"]\n");
    let rounds = 30;
    for round in 0..rounds {
        let id = format!("race-{round}");
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let mut cmd: Command = env.command(env.path());
                cmd.args(["enqueue", "mail", "--id", &id, "--json"]);
                cmd.stdout(std::process::Stdio::piped()).spawn().unwrap()
            })
            .collect();
        let fresh = racers
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().unwrap();
                assert!(out.status.success());
                let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                usize::from(v["duplicate"] == false)
            })
            .sum::<usize>();
        assert_eq!(fresh, 1, "round {round}: {fresh} producers published");
    }
    assert_eq!(env.queue_counts("default")["ready"], rounds);
}

#[test]
fn a_stored_pause_outlives_worker_restarts() {
    let env = Env::with_manifest("[tasks.mark]\nexec = [\"sh\", \"-c\", \"touch marked\"]\n");
    let unknown = env.stem(&["queue", "pause", "nosuch"]);
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    assert!(
        unknown.stderr.contains("unknown queue \"nosuch\""),
        "{unknown:?}"
    );
    env.stem(&["queue", "pause", "default"]).success();
    let listed = env.stem(&["observe", "queues", "--json"]).success().json();
    assert_eq!(listed["default"]["paused"], true, "{listed}");

    let id = env.enqueue("mark", &[]);
    for round in 0..2 {
        let mut worker = env.worker(&[]);
        let ready = wait_for(PATIENCE, || worker.log().contains("worker ready"));
        assert!(ready, "{}", worker.log());
        // Well past the worker's first fetch, the task is still untouched.
        let ran = wait_for(Duration::from_secs(2), || env.file("marked").exists());
        assert!(!ran, "round {round}: a paused queue was fetched");
        worker.kill();
    }
    let _worker = env.worker(&[]);
    env.stem(&["queue", "resume", "default"]).success();
    assert_eq!(
        env.outcome(&id)["state"],
        "success",
        "{}",
        env.worker_logs()
    );
}

#[test]
fn a_pause_holds_what_a_fetch_already_waiting_brings_back() {
    let env = Env::with_manifest("[tasks.mark]\nexec = [\"sh\", \"-c\", \"touch marked\"]\n");
    env.enqueue("mark", &["--id", "warm-up"]);
    let worker = env.worker(&[]);
    assert_eq!(
        env.outcome("warm-up")["state"],
        "success",
        "{}",
        worker.log()
    );
    std::fs::remove_file(env.file("marked")).expect("the warm-up's mark");
    let ping = env.stem(&["worker", "ping", "--json"]).success().json();
    let id = ping
        .as_object()
        .and_then(|r| r.keys().next().cloned())
        .unwrap_or_else(|| panic!("no worker answered: {ping}"));
    // The worker waits in a fetch of `default`; this worker's own pause comes while it waits,
    // and a task is published at once, before that fetch ends.
    env.stem(&["worker", "pause", "--worker", &id, "--queue", "default"])
        .success();
    let task = env.enqueue("mark", &[]);
    let ran = wait_for(Duration::from_secs(2), || env.file("marked").exists());
    assert!(!ran, "a task of a paused queue ran\n{}", worker.log());
    let sizes = env.stem(&["observe", "queues", "--json"]).success().json();
    assert_eq!(sizes["default"]["ready"], 1, "given back, waiting: {sizes}");
    env.stem(&["worker", "resume", "--worker", &id, "--queue", "default"])
        .success();
    assert_eq!(env.outcome(&task)["state"], "success", "{}", worker.log());
}

#[test]
fn a_task_not_started_in_time_is_recorded_expired_and_never_runs() {
    let env = Env::with_manifest("[tasks.mark]\nexec = [\"sh\", \"-c\", \"touch marked\"]\n");
    let id = env.enqueue("mark", &["--expires", "300ms"]);
    let past = env.stem(&["enqueue", "mark", "--expires", "2020-01-01T00:00:00Z"]);
    assert_eq!(past.code, Some(2), "{past:?}");
    std::thread::sleep(Duration::from_millis(400)); // the task's own deadline, not a race
    let _worker = env.worker(&[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "expired", "{record}");
    assert!(
        record["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{record}"
    );
    assert!(!env.file("marked").exists(), "an expired task ran");
    let fresh = env.enqueue("mark", &["--expires", "1m"]);
    assert_eq!(env.outcome(&fresh)["state"], "success");
}
