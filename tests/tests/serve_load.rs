//! Issue 13: one `stem serve` holding 200 concurrent long-polls and 50 event streams keeps
//! answering, every long-poll returns its task's outcome once a worker runs them, every stream
//! gets events, and the server's RSS stays bounded (printed). Runs on Redis when
//! `STEM_TEST_REDIS_URL` is set (blocking waits, no polling), else on the world's SQLite file.
//! Also `stem enqueue --stdin` and `stem tasks list` over the same store.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use stem_e2e::http::Server;
use stem_e2e::{fake_runtime, unique_namespace, wait_for, Env, PATIENCE};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");
const POLLS: usize = 200;
const STREAMS: usize = 50;
/// Generous: the server idles at a few MB; 250 open requests must not cost hundreds.
const RSS_BOUND_KIB: u64 = 256 * 1024;

fn world() -> Env {
    let manifest = format!(
        "{}\n[tasks.echo]\nruntime = \"fake\"\n",
        fake_runtime("fake", FAKE, "pool")
    );
    match std::env::var("STEM_TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => {
            Env::with_broker(&manifest, url.trim(), &unique_namespace())
        }
        _ => Env::with_manifest(&manifest),
    }
}

/// Opens `GET path` on a raw connection and returns it once the request is sent.
fn open(addr: &str, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    stream
}

#[test]
fn long_polls_and_event_streams_stay_bounded() {
    let env = world();
    let server = Server::start(&env, &[], &[]);
    let addr = server.url.trim_start_matches("http://").to_string();
    let specs: Vec<String> = (0..POLLS)
        .map(|i| format!("{{\"task\": \"echo\", \"args\": [{i}]}}"))
        .collect();
    let sent = server.post("/v1/tasks", &format!("[{}]", specs.join(",")));
    assert_eq!(sent.status, 200, "{sent:?}");
    let ids: Vec<String> = sent.body["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let rss_idle = server.rss_kib();

    let polls: Vec<_> = ids
        .iter()
        .map(|id| {
            let stream = open(&addr, &format!("/v1/tasks/{id}?wait=45s"));
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = BufReader::new(stream).read_to_string(&mut text);
                text
            })
        })
        .collect();
    let streams: Vec<_> = (0..STREAMS)
        .map(|_| {
            let stream = open(&addr, "/v1/events");
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if line.starts_with("event: ") && !line.starts_with("event: error") {
                        return true;
                    }
                }
                false
            })
        })
        .collect();

    // All 250 are held open: the server still answers at once, and its memory is bounded.
    let held = wait_for(PATIENCE, || {
        let ready = server.get("/readyz");
        ready.status == 200
    });
    assert!(held, "the server stopped answering under load");
    let started = Instant::now();
    let health = server.get("/healthz");
    let answer = started.elapsed();
    assert_eq!(health.status, 200);
    assert!(
        answer < Duration::from_secs(5),
        "healthz took {answer:?} under load"
    );
    let rss_loaded = server.rss_kib();

    let _worker = env.worker(&["--concurrency", "8"]);
    let mut done = 0;
    for poll in polls {
        let text = poll.join().expect("poll thread");
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        if text.contains("\"state\":\"success\"") {
            done += 1;
        }
    }
    let streamed = streams
        .into_iter()
        .map(|s| s.join())
        .filter(|r| matches!(r, Ok(true)))
        .count();
    let rss_after = server.rss_kib();
    println!(
        "stem serve RSS: idle {} KiB, with {POLLS} long-polls and {STREAMS} event streams open {} KiB, after {} KiB",
        rss_idle, rss_loaded, rss_after
    );
    assert_eq!(done, POLLS, "every long-poll returns its task's success");
    assert_eq!(streamed, STREAMS, "every event stream got an event");
    assert!(
        rss_loaded < RSS_BOUND_KIB && rss_after < RSS_BOUND_KIB,
        "RSS {rss_loaded} / {rss_after} KiB"
    );
}

#[test]
fn enqueue_from_stdin_and_list_the_records() {
    let env = world();
    let _worker = env.worker(&[]);
    let mut cmd = env.command(env.path());
    let mut child = cmd
        .args(["enqueue", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("stem enqueue --stdin");
    let lines =
        "{\"task\": \"echo\", \"args\": [1]}\n{\"task\": \"echo\", \"kwargs\": {\"k\": 2}}\n";
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{out:?}");
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), 2, "one id per line: {ids:?}");
    for id in &ids {
        assert_eq!(env.outcome(id)["state"], "success");
    }
    let listed = env
        .stem(&[
            "tasks", "list", "--state", "success", "--task", "echo", "--since", "1h", "--json",
        ])
        .success()
        .json();
    let listed = listed.as_array().expect("a list");
    for id in &ids {
        assert!(
            listed.iter().any(|r| r["id"] == id.as_str()),
            "{id} not listed: {listed:?}"
        );
    }
    let second = listed
        .iter()
        .find(|r| r["id"] == ids[1].as_str())
        .expect("listed");
    assert_eq!(
        second["kwargs"]["k"], 2,
        "records keep their kwargs: {second}"
    );

    let bad = env.stem_in(env.path(), &["enqueue", "--stdin"]);
    assert!(bad.ok(), "empty stdin publishes nothing: {bad:?}");
}
