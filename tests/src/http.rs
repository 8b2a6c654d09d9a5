//! A real `stem serve` for the API tests, and `curl` as the client: [`Server`] starts the
//! server on a free loopback port of a test's world and stops it on drop; [`Server::curl`] sends
//! one request and returns the status and the JSON body.

use crate::{wait_for_value, Env, PATIENCE};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

/// A running `stem serve`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// A token to send, when the server has tokens.
    pub token: Option<String>,
}

/// One answer: the HTTP status and the body (as JSON when it is JSON, else a string).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Server {
    /// Starts `stem serve --listen 127.0.0.1:0 EXTRA...` in `env`'s folder with `vars` set, and
    /// waits for it to say where it listens.
    pub fn start(env: &Env, extra: &[&str], vars: &[(&str, &str)]) -> Server {
        Server::start_on(env, "127.0.0.1:0", extra, vars)
    }

    /// Like [`Server::start`], listening on `listen` (e.g. `127.0.0.2:0`).
    pub fn start_on(env: &Env, listen: &str, extra: &[&str], vars: &[(&str, &str)]) -> Server {
        let mut cmd = env.command(env.path());
        cmd.args(["serve", "--listen", listen])
            .args(extra)
            .env_remove("STEM_API_TOKENS")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(env.file("serve.log")).expect("serve log"),
            ));
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start stem serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("stem serve: listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = wait_for_value(PATIENCE, || rx.try_recv().ok()).unwrap_or_else(|| {
            let _ = child.kill();
            panic!(
                "stem serve did not start; its log:\n{}",
                env.read("serve.log")
            )
        });
        Server {
            child,
            url,
            token: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    /// `curl -X METHOD URL/PATH` with `extra` curl arguments (e.g. `-d`, `-H`).
    pub fn curl(&self, method: &str, path: &str, extra: &[&str]) -> Reply {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-sS",
            "-X",
            method,
            "-w",
            "\n%{http_code}",
            "--max-time",
            "90",
        ])
        .args(["-H", "Content-Type: application/json"]);
        if let Some(t) = &self.token {
            cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
        }
        let out = cmd
            .args(extra)
            .arg(format!("{}{path}", self.url))
            .stdin(Stdio::null())
            .output()
            .expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
        let status = code.trim().parse().unwrap_or_else(|_| {
            panic!(
                "curl {method} {path}: no status ({text:?}; {})",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()));
        Reply { status, body }
    }

    /// POST with a JSON body.
    pub fn post(&self, path: &str, body: &str) -> Reply {
        self.curl("POST", path, &["--data-binary", body])
    }

    pub fn get(&self, path: &str) -> Reply {
        self.curl("GET", path, &[])
    }

    /// The server's resident set size, in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.alive() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            if wait_for_value(std::time::Duration::from_secs(10), || {
                self.child.try_wait().ok().flatten()
            })
            .is_none()
            {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}
