//! A beat through bad input and outages: schedules with a typo refused at `apply` in one line
//! naming schedule and field; `dry-run` times across a DST change; a beat restarted after an
//! outage following each `catch_up` policy; a schedule store (a private `redis-server`) killed
//! and restarted under a running beat: reported, retried, no fire lost or doubled.

use std::process::{Child, Command, Stdio};
use std::time::Duration;
use stem_e2e::beat::{self, every_second, fires, now_ms, wait_leader, MANIFEST};
use stem_e2e::{wait_for, Env, PATIENCE};

#[test]
fn bad_schedules_are_refused_at_apply_naming_schedule_and_field() {
    let env = Env::with_manifest(MANIFEST);
    let cases = [
        (
            "task = \"nope\"\nevery = \"1s\"\n",
            "schedules.x.task: unknown task \"nope\"",
        ),
        (
            "task = \"tick\"\ncron = \"61 * * * *\"\n",
            "schedules.x.cron: invalid cron",
        ),
        (
            "task = \"tick\"\ncron = \"* * * * *\"\ntimezone = \"Europe/Pariss\"\n",
            "schedules.x.timezone: unknown time zone",
        ),
        (
            "task = \"tick\"\nevry = \"1s\"\n",
            "schedules.x: unknown field `evry`",
        ),
    ];
    for (body, want) in cases {
        env.write("bad.toml", &format!("[schedules.x]\n{body}"));
        let out = env.stem(&["schedule", "apply", "bad.toml"]);
        assert_eq!(out.code, Some(2), "{body:?}: {out:?}");
        let err = out.stderr.trim();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(want), "{body:?}: {err}");
    }
    let listed = env.stem(&["schedule", "list", "--json"]).success().json();
    assert_eq!(listed, serde_json::json!([]), "nothing was applied");
}

#[test]
fn dry_run_prints_the_next_times_across_dst() {
    let env = Env::with_manifest(MANIFEST);
    let args = [
        "schedule",
        "dry-run",
        "--cron",
        "30 2 * * *",
        "--timezone",
        "Europe/Paris",
        "--from",
        "2026-03-28T00:00:00Z",
        "--count",
        "3",
    ];
    let out = env.stem(&args).success();
    assert_eq!(
        out.stdout,
        "2026-03-28T01:30:00Z\n2026-03-29T01:00:00Z\n2026-03-30T00:30:00Z\n"
    );
    let mut json = args.to_vec();
    json.push("--json");
    assert_eq!(
        env.stem(&json).success().json(),
        serde_json::json!([
            "2026-03-28T01:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-30T00:30:00Z"
        ])
    );
    let every = env
        .stem(&[
            "schedule",
            "dry-run",
            "--every",
            "90s",
            "--from",
            "2026-01-01T00:00:00Z",
            "--count",
            "2",
        ])
        .success();
    assert_eq!(every.stdout, "2026-01-01T00:00:00Z\n2026-01-01T00:01:30Z\n");
    let bad = env.stem(&["schedule", "dry-run", "--cron", "* *"]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
}

#[test]
fn a_restarted_beat_catches_up_by_policy() {
    let env = Env::with_manifest(MANIFEST);
    env.write(
        "schedules.toml",
        &(every_second("all", "all")
            + &every_second("latest", "latest")
            + &every_second("none", "none")),
    );
    env.stem(&["schedule", "apply", "schedules.toml"]).success();
    let _worker = env.worker(&["--concurrency", "4"]);
    let grace = ["--grace", "200ms"];
    let first = beat::start(&env, "first", "2s", &grace);
    wait_leader(&env, "first", &[]);
    std::thread::sleep(Duration::from_secs(2));
    drop(first); // SIGTERM: a clean stop that releases the lock
    let down = now_ms();
    std::thread::sleep(Duration::from_secs(6));
    let restart = now_ms();
    let second = beat::start(&env, "second", "2s", &grace);
    wait_leader(&env, "second", &[]);
    std::thread::sleep(Duration::from_secs(2));
    drop(second);
    assert!(wait_for(PATIENCE, || env.queue_drained("default")));

    let all = fires(&env);
    for (id, times) in &all {
        assert!(
            times.values().all(|n| *n == 1),
            "{id} published twice: {times:?}"
        );
    }
    let in_gap = |id: &str, from: i64, to: i64| -> Vec<i64> {
        all.get(id)
            .map(|t| {
                t.keys()
                    .copied()
                    .filter(|t| *t > from && *t <= to)
                    .collect()
            })
            .unwrap_or_default()
    };
    // Fires between the last one before the stop and the restart.
    let before = |id: &str| {
        all[id]
            .keys()
            .copied()
            .filter(|t| *t <= down)
            .max()
            .expect("fired before")
    };
    let a0 = before("all");
    let want: Vec<i64> = (1..)
        .map(|k| a0 + k * 1000)
        .take_while(|t| *t <= restart - 1000)
        .collect();
    assert_eq!(
        in_gap("all", a0, restart - 1000),
        want,
        "all: each missed time"
    );
    let l0 = before("latest");
    let latest = in_gap("latest", l0, restart + 1000);
    assert!(
        latest.len() == 1 || (latest.len() == 2 && latest[1] > restart),
        "latest: one fire for the missed times: {latest:?} (down {down}, back {restart})"
    );
    let n0 = before("none");
    assert_eq!(
        in_gap("none", n0, restart - 1000),
        Vec::<i64>::new(),
        "none: no missed fire"
    );
    assert!(
        all["none"].keys().any(|t| *t > restart),
        "none: fires again after the restart"
    );
}

/// A private `redis-server` with AOF, killed and restarted on the same port and folder.
struct Redis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Redis {
    fn start(port: u16, dir: tempfile::TempDir) -> Option<Redis> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let up = wait_for(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        up.then_some(Redis { child, port, dir })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn a_schedule_store_outage_is_reported_and_no_fire_is_lost_or_doubled() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("beat store outage: redis-server is not on the PATH: skipping");
        return;
    }
    let mut redis = Redis::start(free_port(), tempfile::tempdir().unwrap()).expect("redis-server");
    let store = redis.url();
    let flag = ["--schedule-store", store.as_str()];
    let env = Env::with_manifest(MANIFEST);
    env.write("schedules.toml", &every_second("all", "all"));
    let mut apply = vec!["schedule", "apply", "schedules.toml"];
    apply.extend_from_slice(&flag);
    env.stem(&apply).success();
    let _worker = env.worker(&["--concurrency", "4"]);
    let mut b = beat::start(&env, "b", "2s", &flag);
    wait_leader(&env, "b", &flag);
    std::thread::sleep(Duration::from_secs(2));

    let (port, dir) = (
        redis.port,
        std::mem::replace(&mut redis.dir, tempfile::tempdir().unwrap()),
    );
    redis.kill();
    assert!(
        wait_for(PATIENCE, || b.log().contains("schedule store unreachable")),
        "the outage was not reported: {}",
        b.log()
    );
    std::thread::sleep(Duration::from_secs(3));
    b.assert_alive();
    let _redis = Redis::start(port, dir).expect("restart redis-server");
    assert!(
        wait_for(PATIENCE, || b
            .log()
            .contains("schedule store reachable again")),
        "the beat did not recover: {}",
        b.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    b.assert_alive();
    drop(b);
    assert!(wait_for(PATIENCE, || env.queue_drained("default")));

    let times = fires(&env).remove("all").expect("fires");
    assert!(
        times.values().all(|n| *n == 1),
        "published twice: {times:?}"
    );
    let (first, last) = (*times.keys().next().unwrap(), *times.keys().last().unwrap());
    let missing: Vec<i64> = (0..)
        .map(|k| first + k * 1000)
        .take_while(|t| *t <= last)
        .filter(|t| !times.contains_key(t))
        .collect();
    assert!(
        missing.is_empty(),
        "fire times lost in the outage: {missing:?}"
    );
    assert!(times.len() >= 7, "only {} fires", times.len());
}

#[test]
fn a_beat_keeps_running_through_a_schedule_it_cannot_route() {
    let env = Env::with_manifest(MANIFEST);
    // A file with its own tasks applies; the beat's manifest has no `other`.
    env.write(
        "elsewhere.toml",
        "[tasks.other]\nexec = [\"true\"]\n\n[schedules.stray]\ntask = \"other\"\nevery = \"1s\"\n",
    );
    env.stem(&["schedule", "apply", "elsewhere.toml"]).success();
    let mut b = beat::start(&env, "b", "2s", &[]);
    let error = stem_e2e::wait_for_value(PATIENCE, || {
        let o = env
            .stem(&["observe", "schedules", "--json"])
            .success()
            .json();
        o["schedules"][0]["last_error"].as_str().map(str::to_string)
    });
    let error = error.expect("the error is recorded");
    assert!(
        error.contains("schedules.stray.task: unknown task"),
        "{error}"
    );
    b.assert_alive();
    assert!(b.log().contains("unknown task"), "{}", b.log());
}
