//! A fake task child for the end-to-end tests: speaks the JSON-lines protocol and misbehaves on
//! request. The task name picks the behaviour:
//! `echo` (returns its args), `fail` (an error), `garbage` (a non-protocol line), `exit_early`
//! (exits 3 without answering), `hang` (sleeps forever), `ignore_signals` (ignores TERM and the
//! soft signal, then hangs), `soft_partial` (returns "partial" once the soft signal arrives),
//! `grandchild` (starts `sleep 1000` in its group, then hangs), `huge_stdout` (10 MB on stdout
//! without a newline), `huge_stderr` (10 MB on stderr, then a result), `flaky` (fails while the
//! attempt is below args[0], then succeeds), `retry_me` (asks for a retry with a countdown),
//! `hang_first` (hangs on attempt 1, returns its attempt on later ones), `stubborn_grandchild`
//! (starts `sleep 1000` in its group, ignores TERM, then hangs), `whoami` (returns its pid),
//! `retries_left` (returns the request's `retries_left`, null when it has none), `sleep`
//! (appends its id to the file args[1] names, if any, sleeps args[0] seconds, returns its pid).

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let mut out = std::io::stdout().lock();
    let tasks = [
        "echo",
        "fail",
        "garbage",
        "exit_early",
        "hang",
        "ignore_signals",
        "soft_partial",
        "grandchild",
        "huge_stdout",
        "huge_stderr",
        "flaky",
        "retry_me",
        "hang_first",
        "stubborn_grandchild",
        "whoami",
        "retries_left",
        "sleep",
    ];
    let hello =
        serde_json::json!({"type": "hello", "protocol": 1, "sdk": "fake/1", "tasks": tasks});
    writeln!(out, "{hello}").unwrap();
    out.flush().unwrap();
    let soft = Arc::new(AtomicBool::new(false));
    let soft_name = std::env::var("STEM_SOFT_SIGNAL").unwrap_or_else(|_| "SIGUSR1".into());
    let soft_sig = match soft_name.as_str() {
        "SIGUSR2" => signal_hook::consts::SIGUSR2,
        _ => signal_hook::consts::SIGUSR1,
    };
    signal_hook::flag::register(soft_sig, soft.clone()).unwrap();
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let msg: serde_json::Value = serde_json::from_str(&line).unwrap();
        if msg["type"] == "shutdown" {
            return;
        }
        let id = msg["id"].as_str().unwrap().to_string();
        let args = msg["args"].clone();
        let attempt = msg["attempt"].as_u64().unwrap_or(1);
        let answer = |value: serde_json::Value| serde_json::json!({"type": "result", "id": id, "value": value});
        let error = |kind: &str, message: &str| serde_json::json!({"type": "error", "id": id, "error": {"type": kind, "message": message, "traceback": "fake traceback"}});
        let reply = match msg["name"].as_str().unwrap() {
            "echo" => answer(args),
            "fail" => error("FakeError", "failed on purpose"),
            "garbage" => {
                writeln!(out, "this is not json").unwrap();
                out.flush().unwrap();
                hang()
            }
            "exit_early" => std::process::exit(3),
            "hang" => hang(),
            "ignore_signals" => {
                ignore(signal_hook::consts::SIGTERM);
                ignore(soft_sig);
                hang()
            }
            "soft_partial" => {
                while !soft.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                answer(serde_json::json!("partial"))
            }
            "grandchild" => {
                spawn_grandchild();
                hang()
            }
            "huge_stdout" => {
                let chunk = vec![b'x'; 1 << 20];
                for _ in 0..10 {
                    out.write_all(&chunk).unwrap();
                }
                out.flush().unwrap();
                // Only reached when the supervisor drained all 10 MB.
                eprintln!("wrote 10 MB to stdout");
                hang()
            }
            "huge_stderr" => {
                let chunk = vec![b'e'; 1 << 20];
                let mut err = std::io::stderr().lock();
                for _ in 0..10 {
                    err.write_all(&chunk).unwrap();
                }
                writeln!(err).unwrap();
                answer(serde_json::json!("done"))
            }
            "flaky" => {
                let until = args[0].as_u64().unwrap_or(1);
                if attempt < until {
                    error("Flaky", &format!("attempt {attempt} fails"))
                } else {
                    answer(serde_json::json!({"attempt": attempt}))
                }
            }
            "hang_first" if attempt == 1 => hang(),
            "hang_first" => answer(serde_json::json!({"attempt": attempt})),
            "stubborn_grandchild" => {
                spawn_grandchild();
                ignore(signal_hook::consts::SIGTERM);
                hang()
            }
            "whoami" => answer(serde_json::json!(std::process::id())),
            "sleep" => {
                if let Some(path) = args[1].as_str() {
                    let mut f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .unwrap();
                    writeln!(f, "{id}").unwrap();
                }
                std::thread::sleep(Duration::from_secs_f64(args[0].as_f64().unwrap_or(0.0)));
                answer(serde_json::json!(std::process::id()))
            }
            "retries_left" => answer(msg["retries_left"].clone()),
            "retry_me" => {
                serde_json::json!({"type": "error", "id": id, "error": {"type": "Retry", "message": "later", "traceback": "", "retryable": true, "countdown": 0.2}})
            }
            other => error("UnknownTask", &format!("no task {other}")),
        };
        writeln!(out, "{reply}").unwrap();
        out.flush().unwrap();
    }
}

fn hang() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn ignore(sig: i32) {
    // Registering a flag handler means the default action (terminate) no longer happens.
    signal_hook::flag::register(sig, Arc::new(AtomicBool::new(false))).unwrap();
}

// The grandchild is meant to outlive this process's attention: the supervisor's kill of the
// whole process group is what must end it, so it is never waited for here.
#[allow(clippy::zombie_processes)]
fn spawn_grandchild() {
    std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
}
