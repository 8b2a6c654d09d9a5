//! Debounce with real workers, on SQLite and (when their URLs are set) Redis and Postgres: a
//! thousand enqueues over ~2 s run once, with the last arguments, every enqueue answered with
//! the one id; a steady stream longer than `debounce_max_wait` runs once per burst, each run
//! with its burst's last arguments; a worker SIGKILLed mid-run does not lose the run.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};
use stem_e2e::chaos::worker_args;
use stem_e2e::stores::{world, Store};
use stem_e2e::{wait_for, Env, PATIENCE};

/// A task noting `ID ARGS` in `ran.txt`, then sleeping `sleep`.
fn manifest(debounce: &str, sleep: &str) -> String {
    format!(
        "[tasks.note]\nexec = [\"sh\", \"-c\", \"echo \\\"$STEM_TASK_ID $STEM_ARGS\\\" >> ran.txt; sleep {sleep}\"]\n\
         max_retries = 0\ntime_limit = \"60s\"\n{debounce}\n"
    )
}

fn ran(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.file("ran.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn wait_success(env: &Env, id: &str) {
    let done = wait_for(PATIENCE, || env.record(id)["state"] == "success");
    assert!(
        done,
        "burst {id} did not succeed: {}\n{}",
        env.record(id),
        env.worker_logs()
    );
}

/// `stem enqueue --stdin` with one `note` spec per argument; the ids it printed.
fn enqueue_stdin(env: &Env, args: std::ops::Range<usize>) -> Vec<String> {
    let mut child = env
        .command(env.path())
        .args(["enqueue", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stem enqueue --stdin");
    let specs: String = args
        .map(|i| format!("{{\"task\": \"note\", \"args\": [{i}]}}\n"))
        .collect();
    let mut stdin = child.stdin.take().expect("a stdin pipe");
    stdin.write_all(specs.as_bytes()).expect("write the specs");
    drop(stdin);
    let out = child.wait_with_output().expect("wait for stem enqueue");
    assert!(out.status.success(), "enqueue --stdin failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn burst_runs_once_with_the_last_arguments(store: Store, test: &str) {
    let Some(env) = world(store, &manifest("debounce = \"3s\"", "0"), test) else {
        return;
    };
    let _worker = env.worker(&["--concurrency", "4"]);
    let mut ids = Vec::new();
    for chunk in 0..10 {
        ids.extend(enqueue_stdin(&env, chunk * 100..(chunk + 1) * 100));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(ids.len(), 1000, "one id printed per enqueue");
    let id = ids[0].clone();
    assert!(
        ids.iter().all(|i| *i == id),
        "every enqueue of the burst answers with its one id"
    );
    wait_success(&env, &id);
    assert_eq!(
        ran(&env),
        vec![format!("{id} [999]")],
        "one run, with the last enqueue's arguments\n{}",
        env.worker_logs()
    );
    let listed = env
        .stem(&["tasks", "list", "--task", "note", "--json"])
        .success()
        .json();
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "one record: {listed}"
    );
}

#[test]
fn a_burst_runs_once_with_the_last_arguments_sqlite() {
    burst_runs_once_with_the_last_arguments(Store::Sqlite, "debounce_burst_sqlite");
}

#[test]
fn a_burst_runs_once_with_the_last_arguments_redis() {
    burst_runs_once_with_the_last_arguments(Store::Redis, "debounce_burst_redis");
}

#[test]
fn a_burst_runs_once_with_the_last_arguments_postgres() {
    burst_runs_once_with_the_last_arguments(Store::Postgres, "debounce_burst_postgres");
}

fn max_wait_bounds_a_steady_stream(store: Store, test: &str) {
    let deb = "debounce = \"1s\"\ndebounce_max_wait = \"3s\"";
    let Some(env) = world(store, &manifest(deb, "0"), test) else {
        return;
    };
    let _worker = env.worker(&["--concurrency", "4"]);
    // An enqueue every ~100 ms for 7 s: never a quiet second, so only max_wait ends a burst.
    let started = Instant::now();
    let mut last_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(7) {
        let id = env.enqueue("note", &["--args", &format!("[{n}]")]);
        last_of.insert(id, n);
        n += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        last_of.len() >= 2,
        "a 7 s stream with max_wait 3s is at least two bursts, got {last_of:?}"
    );
    for id in last_of.keys() {
        wait_success(&env, id);
    }
    let mut want: Vec<String> = last_of
        .iter()
        .map(|(id, n)| format!("{id} [{n}]"))
        .collect();
    let mut got = ran(&env);
    want.sort();
    got.sort();
    assert_eq!(got, want, "one run per burst, each with its last arguments");
}

#[test]
fn max_wait_bounds_a_steady_stream_sqlite() {
    max_wait_bounds_a_steady_stream(Store::Sqlite, "debounce_max_wait_sqlite");
}

#[test]
fn max_wait_bounds_a_steady_stream_redis() {
    max_wait_bounds_a_steady_stream(Store::Redis, "debounce_max_wait_redis");
}

#[test]
fn max_wait_bounds_a_steady_stream_postgres() {
    max_wait_bounds_a_steady_stream(Store::Postgres, "debounce_max_wait_postgres");
}

fn a_killed_run_is_not_lost(store: Store, test: &str) {
    let Some(env) = world(store, &manifest("debounce = \"500ms\"", "3"), test) else {
        return;
    };
    let mut first = env.worker(&worker_args("a", "2"));
    let ids: Vec<String> = (1..=3)
        .map(|n| env.enqueue("note", &["--args", &format!("[{n}]")]))
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "one burst: {ids:?}");
    let id = &ids[0];
    let running = wait_for(PATIENCE, || !ran(&env).is_empty());
    assert!(running, "the burst never started\n{}", env.worker_logs());
    first.kill();
    let _second = env.worker(&worker_args("b", "2"));
    wait_success(&env, id);
    let runs = ran(&env);
    assert!(
        runs.len() >= 2 && runs.iter().all(|r| *r == format!("{id} [3]")),
        "the run was redelivered after the kill, with the last arguments: {runs:?}\n{}",
        env.worker_logs()
    );
}

#[test]
fn a_killed_run_is_not_lost_sqlite() {
    a_killed_run_is_not_lost(Store::Sqlite, "debounce_kill_sqlite");
}

#[test]
fn a_killed_run_is_not_lost_redis() {
    a_killed_run_is_not_lost(Store::Redis, "debounce_kill_redis");
}

#[test]
fn a_killed_run_is_not_lost_postgres() {
    a_killed_run_is_not_lost(Store::Postgres, "debounce_kill_postgres");
}
