//! Shared helpers for the end-to-end tests: where the built `stem` binary is, a per-test folder
//! with its own SQLite file and manifest, a `Worker` guard around a real `stem worker` process,
//! a runner for one-shot `stem` commands, a deadline-bound `wait_for`, and process inspection
//! through /proc (children, zombies, processes by command line and working directory).

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The generous deadline for anything a busy two-core machine should do "soon".
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Variables of the test's own environment that would point a `stem` process elsewhere.
const STEM_VARS: &[&str] = &[
    "STEM_BROKER_URL",
    "STEM_RESULT_BACKEND_URL",
    "STEM_REVOKE_STORE_URL",
    "STEM_SCHEDULE_STORE_URL",
    "STEM_NAMESPACE",
    "STEM_MANIFEST",
    "STEM_WORKER_ID",
];

/// Runs `cmd` to its end and keeps what it printed.
fn output(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run the stem binary");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

/// The `stem` binary built next to this test executable (`target/debug/stem` for
/// `target/debug/deps/<test>`), so one `CARGO_TARGET_DIR` serves both.
pub fn stem_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("stem");
    if bin.is_file() {
        return bin;
    }
    panic!(
        "the stem binary is not built at {}: run `cargo build --workspace --bins` with the same \
         CARGO_TARGET_DIR before these tests",
        bin.display()
    );
}

/// The repository root (for the examples and the SDKs).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Polls `cond` until it holds or `within` passes; returns whether it held.
pub fn wait_for(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(20);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// Like `wait_for`, but polls for a value.
pub fn wait_for_value<T>(within: Duration, mut get: impl FnMut() -> Option<T>) -> Option<T> {
    let mut out = None;
    wait_for(within, || {
        out = get();
        out.is_some()
    });
    out
}

/// What a finished `stem` command printed and how it exited.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout as one JSON value (panics with the whole output when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!("stem printed no JSON ({e}): {self:?}");
        })
    }

    /// Panics with the whole output unless the command exited 0.
    pub fn success(self) -> Self {
        assert!(self.ok(), "stem failed: {self:?}");
        self
    }
}

/// One test's world: a temporary folder holding a manifest, its SQLite file and whatever the
/// tasks write. Every `stem` command and worker started from it uses that SQLite file.
pub struct Env {
    dir: tempfile::TempDir,
    pub(crate) workers: AtomicUsize,
    service: Option<Service>,
}

/// Where a world lives when it runs on Redis or Postgres instead of its SQLite file: the broker,
/// an optional separate result backend, and the test's own namespace.
#[derive(Clone, Debug)]
pub struct Service {
    pub broker: String,
    pub backend: Option<String>,
    pub namespace: String,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("stem-e2e-")
            .tempdir()
            .expect("a temporary folder");
        Env {
            dir,
            workers: AtomicUsize::new(0),
            service: None,
        }
    }

    /// A world with `stem.toml` holding `manifest` whose commands and workers use the broker at
    /// `url` (and, unless `with_backend` says otherwise, its result backend) in `namespace`.
    pub fn with_broker(manifest: &str, url: &str, namespace: &str) -> Self {
        let mut env = Env::with_manifest(manifest);
        env.service = Some(Service {
            broker: url.to_string(),
            backend: None,
            namespace: namespace.to_string(),
        });
        env
    }

    /// The result backend at `url` instead of the broker's (only for `with_broker` worlds).
    pub fn with_backend(mut self, url: &str) -> Self {
        if let Some(s) = self.service.as_mut() {
            s.backend = Some(url.to_string());
        }
        self
    }

    /// The namespace of a `with_broker` world.
    pub fn namespace(&self) -> Option<&str> {
        self.service.as_ref().map(|s| s.namespace.as_str())
    }

    /// A world with `stem.toml` holding `manifest`.
    pub fn with_manifest(manifest: &str) -> Self {
        let env = Env::new();
        env.write("stem.toml", manifest);
        env
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    pub fn manifest(&self) -> PathBuf {
        self.file("stem.toml")
    }

    pub fn write(&self, name: &str, text: &str) {
        fs::write(self.file(name), text).expect("write a test file");
    }

    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    /// The tail of every worker log of this world, for failure messages.
    pub fn worker_logs(&self) -> String {
        let mut out = String::new();
        for n in 0..self.workers.load(Ordering::Relaxed) {
            let name = format!("worker-{n}.log");
            let log = self.read(&name);
            let cut = log.len().saturating_sub(4000);
            let start = (cut..log.len())
                .find(|&i| log.is_char_boundary(i))
                .unwrap_or(cut);
            out.push_str(&format!("--- {name} (tail) ---\n{}\n", &log[start..]));
        }
        out
    }

    /// `sqlite:///TMP/stem-e2e-XXXX/stem.db`, or the service's broker URL.
    pub fn broker_url(&self) -> String {
        match &self.service {
            Some(s) => s.broker.clone(),
            None => format!("sqlite://{}", self.file("stem.db").display()),
        }
    }

    /// A `stem` command run in this folder against this world's SQLite file.
    pub fn command(&self, cwd: &Path) -> Command {
        self.command_via(&[], cwd)
    }

    /// Like `command`, with `stem` started by `wrapper` (`["unshare", "-p", ...]`): the
    /// wrapper's arguments, then the `stem` binary.
    pub fn command_via(&self, wrapper: &[&str], cwd: &Path) -> Command {
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(stem_bin());
                cmd
            }
            None => Command::new(stem_bin()),
        };
        for var in STEM_VARS {
            cmd.env_remove(var);
        }
        cmd.env("STEM_BROKER_URL", self.broker_url())
            .env("RUST_LOG", "info")
            .current_dir(cwd)
            .stdin(Stdio::null());
        if let Some(s) = &self.service {
            cmd.env("STEM_NAMESPACE", &s.namespace);
            if let Some(backend) = &s.backend {
                cmd.env("STEM_RESULT_BACKEND_URL", backend);
            }
        }
        cmd
    }

    /// Runs `stem ARGS...` in this folder (where `stem.toml` is) and waits for it.
    pub fn stem(&self, args: &[&str]) -> Output {
        self.stem_in(self.path(), args)
    }

    /// Runs `stem ARGS...` in this folder with extra variables (keys, say) in its environment.
    pub fn stem_with_env<K: AsRef<str>, V: AsRef<str>>(
        &self,
        vars: &[(K, V)],
        args: &[&str],
    ) -> Output {
        let mut cmd = self.command(self.path());
        cmd.envs(vars.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
        output(cmd.args(args))
    }

    /// Runs `stem ARGS...` in `cwd` (e.g. a folder without a manifest).
    pub fn stem_in(&self, cwd: &Path, args: &[&str]) -> Output {
        output(self.command(cwd).args(args))
    }
}

/// A fake-task runtime table for a manifest: `[runtimes.NAME]` running `program`.
pub fn fake_runtime(name: &str, program: &str, isolation: &str) -> String {
    format!("[runtimes.{name}]\ncommand = [{program:?}]\nisolation = {isolation:?}\n")
}

/// Enqueueing, records, outcomes and queue counts of a world.
mod tasks;

/// A running `stem worker` and how it is stopped.
pub mod worker;
/// The workflow API of `stem serve`: its world and requests.
pub mod workflow_api;
pub mod workflows;
pub use worker::Worker;

/// Process inspection through /proc.
pub mod procs;

pub mod chaos;
pub mod pipeline;

/// Flow control read off finished tasks: success records, starts, overlaps.
pub mod flow;

pub use stores::{service_url, unique_namespace};

/// The stores a scenario runs on (SQLite, Redis, Postgres, Redis with Postgres records).
pub mod stores;

/// Dead letters, events, stats, `stale commit` lines, and the records/queue/dead-letter verdict.
pub mod outcomes;

/// The frozen-worker scenario (SIGSTOP past the lease, a takeover, SIGCONT).
pub mod frozen;

/// Beats, their schedules and the fires they published.
pub mod beat;
/// A real `stem serve` and `curl` as its client.
pub mod http;
pub mod http_raw;
/// Postgres through `psql`: connections named by `application_name`, their transactions.
pub mod pg;

/// A private `redis-server` to kill and restart.
pub mod private_redis;

/// A small OTLP/HTTP JSON receiver (the otel_metrics example's) for the telemetry tests.
pub mod otlp;

/// A strict reader of the Prometheus text format.
pub mod promtext;

/// A private three-master Redis Cluster: the adapter tests' helper, shared by path.
#[path = "../../adapters/tests/cluster_support/mod.rs"]
pub mod redis_cluster;

/// Whole stores and logs as text, and the marker strings found in them.
pub mod sealing;

/// A store edited by hand: stored envelopes and records read, planted and overwritten.
pub mod store_edit;

/// `stem` under a skewed clock (`faketime`).
pub mod clocks;
