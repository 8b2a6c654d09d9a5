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
//! With `FAKE_PIPELINE=N` in its environment it says `pipeline: N` in its hello and serves as
//! the protocol asks of such a child: lines read by a thread as they come, `withdraw` honoured
//! up to the withdrawn task's turn (unless `FAKE_IGNORE_WITHDRAW` is set too), each answer
//! written before the next task starts; `backlog` returns how many task lines wait behind it;
//! `lie_withdrawn` answers `withdrawn` for itself (no task may be withdrawn once it runs).

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
        "backlog",
        "lie_withdrawn",
    ];
    let pipeline: Option<u32> = std::env::var("FAKE_PIPELINE")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut hello =
        serde_json::json!({"type": "hello", "protocol": 1, "sdk": "fake/1", "tasks": tasks});
    if let Some(n) = pipeline {
        hello["pipeline"] = serde_json::json!(n);
    }
    writeln!(out, "{hello}").unwrap();
    out.flush().unwrap();
    let soft = Arc::new(AtomicBool::new(false));
    let soft_name = std::env::var("STEM_SOFT_SIGNAL").unwrap_or_else(|_| "SIGUSR1".into());
    let soft_sig = match soft_name.as_str() {
        "SIGUSR2" => signal_hook::consts::SIGUSR2,
        _ => signal_hook::consts::SIGUSR1,
    };
    signal_hook::flag::register(soft_sig, soft.clone()).unwrap();
    let mut lines = Lines::start();
    while let Some(msg) = lines.next_task(&mut out) {
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
            "backlog" => answer(serde_json::json!(lines.backlog())),
            "lie_withdrawn" => serde_json::json!({"type": "withdrawn", "id": id}),
            "retry_me" => {
                serde_json::json!({"type": "error", "id": id, "error": {"type": "Retry", "message": "later", "traceback": "", "retryable": true, "countdown": 0.2}})
            }
            other => error("UnknownTask", &format!("no task {other}")),
        };
        writeln!(out, "{reply}").unwrap();
        out.flush().unwrap();
    }
}

/// The supervisor's lines, read by a thread: a task at a time, withdraws taken out of order.
struct Lines {
    rx: std::sync::mpsc::Receiver<serde_json::Value>,
    queued: std::collections::VecDeque<serde_json::Value>,
    withdrawn: std::collections::HashSet<String>,
}

impl Lines {
    fn start() -> Lines {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { return };
                let msg: serde_json::Value = serde_json::from_str(&line).unwrap();
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        Lines {
            rx,
            queued: Default::default(),
            withdrawn: Default::default(),
        }
    }

    /// Task lines read (or waiting to be) beyond the current one.
    fn backlog(&mut self) -> usize {
        while let Ok(msg) = self.rx.try_recv() {
            self.take(msg);
        }
        self.queued.len()
    }

    fn take(&mut self, msg: serde_json::Value) {
        if msg["type"] == "withdraw" && std::env::var_os("FAKE_IGNORE_WITHDRAW").is_some() {
            return;
        }
        if msg["type"] == "withdraw" {
            self.withdrawn
                .insert(msg["id"].as_str().unwrap_or("").to_string());
        } else {
            self.queued.push_back(msg);
        }
    }

    /// The next task (or shutdown), after everything already waiting has been read; a
    /// withdrawn task is answered `withdrawn` in its place. None at EOF.
    fn next_task(&mut self, out: &mut impl Write) -> Option<serde_json::Value> {
        loop {
            while let Ok(msg) = self.rx.try_recv() {
                self.take(msg);
            }
            if self.queued.is_empty() {
                self.withdrawn.clear();
                let msg = self.rx.recv().ok()?;
                self.take(msg);
                continue;
            }
            let msg = self.queued.pop_front()?;
            let id = msg["id"].as_str().unwrap_or("").to_string();
            if self.withdrawn.remove(&id) {
                let line = serde_json::json!({"type": "withdrawn", "id": id});
                writeln!(out, "{line}").unwrap();
                out.flush().unwrap();
                continue;
            }
            return Some(msg);
        }
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
