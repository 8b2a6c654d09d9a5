//! cgroup v2 containment: when the worker may create cgroups, every child it starts (an `exec`
//! task's program, a runtime's child) runs in a cgroup of its own, entered between fork and exec
//! so nothing it starts can be outside it. Leaving a process group or a session (`setsid`,
//! double forks) does not leave a cgroup, so "every process the task started" is exactly the
//! cgroup's members, and `cgroup.kill` ends them all at once, forks in flight included.
//!
//! Layout: `<worker's own cgroup>/stem-<worker pid>/c<n>` on the cgroup2 mount (found in
//! /proc/self/mountinfo: `/sys/fs/cgroup` on a pure v2 host, `/sys/fs/cgroup/unified` on a hybrid
//! one). `STEM_CGROUP=off` turns it off; `STEM_CGROUP=<dir>` names a delegated cgroup2 directory
//! to create them under instead. Where none can be created (no cgroup2, read-only, no
//! delegation) the tree walk of `tree.rs` is used.

use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The directory this worker's cgroups are made in, when it could make one.
struct Base {
    dir: PathBuf,
    /// `cgroup.kill` exists (Linux 5.14+); else members are signalled one by one.
    kill_file: bool,
}

static BASE: OnceLock<Option<Base>> = OnceLock::new();
static NEXT: AtomicU64 = AtomicU64::new(1);

fn base() -> Option<&'static Base> {
    BASE.get_or_init(detect).as_ref()
}

/// Whether tasks run in cgroups of their own (decided once, at the first call).
pub fn enabled() -> bool {
    base().is_some()
}

/// Where cgroups go, for the start-up log line.
pub fn describe() -> String {
    match base() {
        Some(b) => format!("cgroup v2 under {}", b.dir.display()),
        None => "process-tree tracking (no writable cgroup v2)".to_string(),
    }
}

fn detect() -> Option<Base> {
    let parent = match std::env::var("STEM_CGROUP").ok().as_deref() {
        Some("off" | "0" | "no") => return None,
        Some(dir) if !dir.is_empty() && dir != "auto" => PathBuf::from(dir),
        _ => own_cgroup_dir()?,
    };
    sweep_stale(&parent);
    let dir = parent.join(format!("stem-{}", std::process::id()));
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            tracing::info!(
                "cannot create a cgroup under {} ({e}); tracking task process trees instead",
                parent.display()
            );
            return None;
        }
    }
    if !dir.join("cgroup.procs").exists() {
        let _ = fs::remove_dir(&dir);
        return None;
    }
    let kill_file = dir.join("cgroup.kill").exists();
    Some(Base { dir, kill_file })
}

/// This process's cgroup directory on the cgroup2 mount (`0::/path` in /proc/self/cgroup).
fn own_cgroup_dir() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mountinfo").ok()?;
    // Fields: id parent major:minor root mountpoint options ... - fstype source superopts
    let mount = mounts.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        (right.split_whitespace().next()? == "cgroup2").then(|| {
            let f: Vec<&str> = left.split_whitespace().collect();
            (f.get(3).copied(), f.get(4).copied())
        })
    })?;
    let (root, point) = (mount.0?, mount.1?);
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    // Inside a cgroup namespace the path is relative to the mount's root already.
    let rel = path
        .strip_prefix(root)
        .unwrap_or(path)
        .trim_start_matches('/');
    let dir = Path::new(point).join(rel);
    dir.is_dir().then_some(dir)
}

/// Cgroups left by workers that died (SIGKILL, a crash): their members are killed, the
/// directories removed. A live process with that pid keeps its directory.
fn sweep_stale(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("stem-")) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let dir = entry.path();
        if let Ok(children) = fs::read_dir(&dir) {
            for child in children.flatten().filter(|c| c.path().is_dir()) {
                kill_dir(&child.path(), dir.join("cgroup.kill").exists());
                let _ = fs::remove_dir(child.path());
            }
        }
        let _ = fs::remove_dir(&dir);
    }
}

/// One child's cgroup.
pub struct Cgroup {
    dir: PathBuf,
    /// `cgroup.procs`, opened before the fork: the child writes `0` to it to enter.
    procs: fs::File,
    kill_file: bool,
}

impl Cgroup {
    /// A new, empty cgroup for one child; None when cgroups are off or this one cannot be made.
    pub fn create() -> Option<Cgroup> {
        let base = base()?;
        let dir = base
            .dir
            .join(format!("c{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        if let Err(e) = fs::create_dir(&dir) {
            tracing::warn!("cannot create cgroup {}: {e}", dir.display());
            return None;
        }
        let procs = fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))
            .ok()?;
        Some(Cgroup {
            dir,
            procs,
            kill_file: base.kill_file,
        })
    }

    /// The descriptor the forked child writes `0` to (close-on-exec: the program never sees it).
    pub fn procs_fd(&self) -> i32 {
        self.procs.as_raw_fd()
    }

    /// The pids in the cgroup now.
    pub fn pids(&self) -> Vec<u32> {
        pids_in(&self.dir)
    }

    /// Moves `pid` in from the parent's side (when the child could not enter by itself).
    pub fn adopt(&self, pid: u32) -> bool {
        (&self.procs).write_all(pid.to_string().as_bytes()).is_ok() && self.pids().contains(&pid)
    }

    /// SIGKILL to every member, forks in flight included.
    pub fn kill_all(&self) {
        kill_dir(&self.dir, self.kill_file);
    }

    /// Kills what is left and removes the directory (retried by `sweep_removed` while members
    /// are still dying).
    pub fn remove(self) {
        self.kill_all();
        if fs::remove_dir(&self.dir).is_err() {
            PENDING
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(self.dir.clone());
        }
    }
}

static PENDING: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Retries removing cgroups whose members were still exiting; called on the reaper's tick.
pub fn sweep_removed() {
    let mut pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    pending.retain(|dir| {
        kill_dir(dir, dir.join("cgroup.kill").exists());
        fs::remove_dir(dir).is_err() && dir.exists()
    });
}

/// At worker exit: what is left in this worker's cgroups is killed and the directories removed.
pub fn teardown() {
    let Some(base) = base() else {
        return;
    };
    if let Ok(children) = fs::read_dir(&base.dir) {
        for child in children.flatten().filter(|c| c.path().is_dir()) {
            kill_dir(&child.path(), base.kill_file);
        }
    }
    for _ in 0..100 {
        sweep_removed();
        if let Ok(children) = fs::read_dir(&base.dir) {
            for child in children.flatten().filter(|c| c.path().is_dir()) {
                let _ = fs::remove_dir(child.path());
            }
        }
        if fs::remove_dir(&base.dir).is_ok() || !base.dir.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn pids_in(dir: &Path) -> Vec<u32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn kill_dir(dir: &Path, kill_file: bool) {
    if kill_file && fs::write(dir.join("cgroup.kill"), b"1").is_ok() {
        return;
    }
    // Without cgroup.kill: freeze, kill every member (a frozen task still dies of SIGKILL),
    // until none is left, then thaw.
    let _ = fs::write(dir.join("cgroup.freeze"), b"1");
    for _ in 0..50 {
        let pids = pids_in(dir);
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            super::unix::signal_process(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
    let _ = fs::write(dir.join("cgroup.freeze"), b"0");
}
