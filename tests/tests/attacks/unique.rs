//! Hostile scenarios for `--id`: one live run per id over its whole life. An id that already ran
//! to success is enqueued again by four racing producers (two through the CLI, two through
//! `POST /v1/tasks`, a batch holding the id twice among them) while two workers of concurrency 4
//! run it. The task itself detects a second live copy (an atomic `mkdir`), so the assertion is
//! what ran, not what the store says: no overlap, every published run ran exactly once, and
//! `stem result` follows the new run of a reused id. On SQLite, Redis and Postgres (the last two
//! skip without `STEM_TEST_REDIS_URL` / `STEM_TEST_POSTGRES_URL`).

use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use stem_e2e::http::Server;
use stem_e2e::stores::{world, Store};
use stem_e2e::{wait_for, Env, PATIENCE};

/// Enqueues per producer.
const ROUNDS: usize = 60;

/// The task: takes the id's live marker (a directory: `mkdir` is atomic), or notes an overlap.
fn manifest(dir: &std::path::Path) -> String {
    let script = format!(
        "if mkdir {d}/live 2>/dev/null; then echo run >> {d}/runs; sleep 0.05; rmdir {d}/live; \
         else echo overlap >> {d}/overlaps; fi",
        d = dir.display()
    );
    format!("[tasks.rec]\nexec = [\"sh\", \"-c\", {script:?}]\n")
}

/// Producer `n`: a shell loop of `stem enqueue` (even `n`) or of `curl POST /v1/tasks` (odd
/// `n`, every fifth call a batch with the id twice), each answer one JSON line in `out-N`.
fn producer(env: &Env, server: &Server, n: usize) -> Child {
    let out = env.file(&format!("out-{n}"));
    let body = if n.is_multiple_of(2) {
        format!(
            "\"$STEM\" enqueue rec --id JOB-1 --json >> {o} 2>> {o}.err",
            o = out.display()
        )
    } else {
        format!(
            "if [ $((i % 5)) = 0 ]; then d='[{{\"task\":\"rec\",\"id\":\"JOB-1\"}},{{\"task\":\"rec\",\"id\":\"JOB-1\"}}]'; \
             else d='{{\"task\":\"rec\",\"id\":\"JOB-1\"}}'; fi; \
             curl -sS --max-time 30 -H 'Content-Type: application/json' --data-binary \"$d\" \
             {url}/v1/tasks >> {o} 2>> {o}.err; echo >> {o}",
            url = server.url,
            o = out.display()
        )
    };
    let script = format!("i=0; while [ $i -lt {ROUNDS} ]; do i=$((i+1)); {body}; done");
    // `command` runs the stem binary: run sh instead with its environment, the binary in $STEM.
    let cmd: Command = env.command(env.path());
    let mut sh = Command::new("sh");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    sh.env("STEM", stem_e2e::stem_bin())
        .current_dir(env.path())
        .args(["-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .expect("start a producer")
}

/// Every answer the producers got: one JSON value per call (a batch answers with its `ids` and
/// `duplicates`).
fn answers(env: &Env) -> Vec<Value> {
    let mut all = Vec::new();
    for n in 0..4 {
        for line in env.read(&format!("out-{n}")).lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(one) => all.push(one),
                Err(e) => panic!("producer {n} got {line:?}: {e}"),
            }
        }
    }
    all
}

fn state(env: &Env) -> String {
    env.record("JOB-1")["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn one_live_run_per_id(store: Store, test: &str) {
    let Some(env) = world(store, "", test) else {
        return;
    };
    env.write("stem.toml", &manifest(env.path()));
    let mut first = env.worker(&[]);
    env.stem(&["enqueue", "rec", "--id", "JOB-1"]).success();
    assert_eq!(env.outcome("JOB-1")["state"], "success");
    first.kill();

    // A new run of the finished id (no worker running): published, and `stem result` shows it.
    let again = env
        .stem(&["enqueue", "rec", "--id", "JOB-1", "--json"])
        .success()
        .json();
    assert_eq!(again["duplicate"], false, "{again}");
    assert_eq!(state(&env), "pending", "stem result shows the new run");
    let dup = env
        .stem(&["enqueue", "rec", "--id", "JOB-1", "--json"])
        .success()
        .json();
    assert_eq!(
        (dup["duplicate"].clone(), dup["state"].clone()),
        (Value::Bool(true), Value::from("pending")),
        "while the new run is queued the id is taken: {dup}"
    );

    let workers: Vec<_> = (0..2)
        .map(|_| env.worker(&["--concurrency", "4"]))
        .collect();
    let server = Server::start(&env, &[], &[]);
    let mut producers: Vec<Child> = (0..4).map(|n| producer(&env, &server, n)).collect();
    for p in &mut producers {
        let status = p.wait().expect("a producer ends");
        assert!(status.success(), "a producer failed");
    }
    let answers = answers(&env);
    assert!(
        answers.len() == 4 * ROUNDS,
        "{} answers for {} calls",
        answers.len(),
        4 * ROUNDS
    );
    let mut published = 0;
    for a in &answers {
        if let Some(ids) = a["ids"].as_array() {
            let dups = a["duplicates"].as_array().map_or(0, Vec::len);
            assert!(
                ids.len() - dups <= 1,
                "one batch published the id twice: {a}"
            );
            published += ids.len() - dups;
        } else {
            assert_eq!(a["id"], "JOB-1", "{a}");
            published += usize::from(a["duplicate"] == false);
        }
    }

    // Every published run runs once, and no two at once.
    let runs = || env.read("runs").lines().count();
    let want = 2 + published;
    let settled = wait_for(PATIENCE, || runs() >= want && state(&env) == "success");
    assert!(
        settled,
        "{} runs of {want}, state {}\n{}",
        runs(),
        state(&env),
        env.worker_logs()
    );
    // Nothing more runs after the last published run.
    assert!(!wait_for(Duration::from_secs(2), || runs() > want));
    let overlaps = env.read("overlaps").lines().count();
    assert_eq!(
        overlaps, 0,
        "{overlaps} runs of JOB-1 found another live ({published} published by the producers)"
    );
    assert_eq!(runs(), want, "each published run ran exactly once");
    assert!(published >= 1, "the producers published a new run");
    drop(workers);
}

#[test]
fn a_reused_id_has_one_live_run_on_sqlite() {
    one_live_run_per_id(Store::Sqlite, "a_reused_id_has_one_live_run_on_sqlite");
}

#[test]
fn a_reused_id_has_one_live_run_on_redis() {
    one_live_run_per_id(Store::Redis, "a_reused_id_has_one_live_run_on_redis");
}

#[test]
fn a_reused_id_has_one_live_run_on_postgres() {
    one_live_run_per_id(Store::Postgres, "a_reused_id_has_one_live_run_on_postgres");
}
