//! A guard around one real `stem worker` process (or any long-running `stem` command started
//! with `Env::spawn`): signals, liveness, its log, and a stop on drop (TERM, a second TERM,
//! then KILL) so no test leaves a worker or its children behind.

use crate::{wait_for, Env, PATIENCE};
use std::fs;
use std::path::Path;
use std::path::PathBuf;
use std::process::{Child, ExitStatus};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A running `stem worker`; on drop it is stopped (TERM — and CONT, should a test have frozen
/// it — a second TERM for a cold stop, then KILL) so no test leaves a worker or its children
/// behind.
pub struct Worker {
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
    pub(crate) status: Option<ExitStatus>,
}

impl Worker {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the worker logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        if self.status.is_none() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), sig);
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.try_status().is_none()
    }

    fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits up to `within` for the worker to exit.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        wait_for(within, || self.try_status().is_some());
        self.status
    }

    /// Panics (with the log) unless the worker is still running.
    pub fn assert_alive(&mut self) {
        let log = self.log();
        assert!(
            self.alive(),
            "the worker exited ({:?}); its log:\n{log}",
            self.status
        );
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGKILL);
        self.wait_exit(PATIENCE);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        use nix::sys::signal::Signal;
        if self.try_status().is_some() {
            return;
        }
        // A worker a test froze (SIGSTOP) acts on TERM only once continued.
        self.signal(Signal::SIGTERM);
        self.signal(Signal::SIGCONT);
        if self.wait_exit(Duration::from_secs(5)).is_some() {
            return;
        }
        self.signal(Signal::SIGTERM);
        if self.wait_exit(Duration::from_secs(10)).is_some() {
            return;
        }
        self.kill();
    }
}

impl Env {
    /// Starts `stem worker --manifest stem.toml EXTRA...` in this folder.
    pub fn worker(&self, extra: &[&str]) -> Worker {
        self.worker_with_env(extra, &[])
    }

    /// Like `worker`, with extra variables in the worker's environment.
    pub fn worker_with_env(&self, extra: &[&str], vars: &[(&str, &str)]) -> Worker {
        self.worker_on(&self.manifest(), extra, vars)
    }

    /// Starts `stem worker --manifest MANIFEST EXTRA...` in this folder: another manifest (in a
    /// subfolder, say) runs its `exec` tasks there, so each worker's tasks write their own files.
    pub fn worker_on(&self, manifest: &Path, extra: &[&str], vars: &[(&str, &str)]) -> Worker {
        self.worker_via(&[], manifest, extra, vars)
    }

    /// Starts `WRAPPER... stem worker --manifest MANIFEST EXTRA...` (say under `unshare`, as
    /// PID 1 of a new namespace); the guard's pid is the wrapper's.
    pub fn worker_via(
        &self,
        wrapper: &[&str],
        manifest: &Path,
        extra: &[&str],
        vars: &[(&str, &str)],
    ) -> Worker {
        let n = self.workers.fetch_add(1, Ordering::Relaxed);
        let log = self.file(&format!("worker-{n}.log"));
        let stderr = fs::File::create(&log).expect("create the worker log");
        let stdout = stderr.try_clone().expect("clone the log handle");
        let mut cmd = self.command_via(wrapper, self.path());
        cmd.arg("worker")
            .arg("--manifest")
            .arg(manifest)
            .args(extra)
            .stdout(stdout)
            .stderr(stderr);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start stem worker");
        Worker {
            child,
            log,
            status: None,
        }
    }
}

impl Env {
    /// Starts a long-running `stem ARGS...` (say `stem beat`) in this folder, logging to
    /// `LOG` there; the guard stops it like a worker.
    pub fn spawn(&self, args: &[&str], log: &str, vars: &[(&str, &str)]) -> Worker {
        let log = self.file(log);
        let stderr = fs::File::create(&log).expect("create the log");
        let stdout = stderr.try_clone().expect("clone the log handle");
        let mut cmd = self.command(self.path());
        cmd.args(args).stdout(stdout).stderr(stderr);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start stem");
        Worker {
            child,
            log,
            status: None,
        }
    }
}
