//! Orphans: the worker makes itself a child subreaper (and is the namespace's reaper anyway when
//! it runs as PID 1 in a container without an init), so a task's grandchildren whose parent died
//! are re-parented to it. Their exit statuses belong to nobody; this module reaps them, so no
//! `<defunct>` entry piles up under the worker.
//!
//! The children the executor started itself are waited for by tokio on their own pid; reaping
//! one of them here would steal its exit status. So every spawn is registered under one lock
//! (the pid and its start time, which tells a pid reused by a later orphan apart), and the
//! reaper, holding the same lock, only waits for zombie children that are not registered.

use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::fs;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Children the executor waits for itself: pid → start time (clock ticks after boot).
static OWNED: Mutex<BTreeMap<u32, u64>> = Mutex::new(BTreeMap::new());

fn owned() -> MutexGuard<'static, BTreeMap<u32, u64>> {
    OWNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `spawn` (which forks a child) under the registry's lock and registers the child, so the
/// reaper never sees it unregistered.
pub fn spawn_owned(
    spawn: impl FnOnce() -> std::io::Result<tokio::process::Child>,
) -> std::io::Result<tokio::process::Child> {
    let mut owned = owned();
    let child = spawn()?;
    if let Some(pid) = child.id() {
        owned.insert(pid, start_time(pid).unwrap_or(0));
    }
    Ok(child)
}

/// Whether `pid` is a child the executor waits for itself (not an orphan).
pub fn is_owned(pid: u32) -> bool {
    owned().contains_key(&pid)
}

/// Asks the kernel to re-parent orphaned descendants to this process. Returns whether this
/// process reaps orphans (as a subreaper, or as PID 1 of its namespace).
pub fn become_subreaper() -> bool {
    match nix::sys::prctl::set_child_subreaper(true) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("cannot become a child subreaper ({e}); orphans go to init");
            std::process::id() == 1
        }
    }
}

/// Reaps every zombie child that the executor does not wait for itself; returns how many.
pub fn reap_orphans() -> usize {
    let mut owned = owned();
    let mut reaped = 0;
    for pid in own_children() {
        if state(pid) != Some('Z') {
            continue;
        }
        if let (Some(&started), Some(now)) = (owned.get(&pid), start_time(pid)) {
            if started == now || started == 0 {
                continue;
            }
        }
        if waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG)).is_ok() {
            reaped += 1;
        }
    }
    // Children tokio has reaped are gone (or their pid now names another process).
    owned.retain(|&pid, started| {
        start_time(pid).is_some_and(|now| *started == 0 || now == *started)
    });
    reaped
}

/// Reaps orphans whenever a child ends (SIGCHLD) and once a second besides, until dropped.
pub async fn run() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut chld = signal(SignalKind::child()).ok();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        match chld.as_mut() {
            Some(s) => {
                tokio::select! {
                    _ = s.recv() => {}
                    _ = tick.tick() => {}
                }
            }
            None => {
                tick.tick().await;
            }
        }
        let n = reap_orphans();
        if n > 0 {
            tracing::debug!(reaped = n, "reaped orphaned processes");
        }
    }
}

/// This process's children: every thread's `children` list, or a scan of /proc for processes
/// whose parent is this one when the kernel does not provide those lists.
fn own_children() -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    let mut listed = false;
    if let Ok(tasks) = fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(list) = fs::read_to_string(task.path().join("children")) {
                listed = true;
                out.extend(
                    list.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
    }
    if !listed {
        if let Ok(dir) = fs::read_dir("/proc") {
            out.extend(
                dir.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                    .filter(|&p| stat_field(p, 1).and_then(|f| f.parse().ok()) == Some(me)),
            );
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Field `n` (0-based, counting from the state) of /proc/PID/stat, after the command name.
fn stat_field(pid: u32, n: usize) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields follow the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(n).map(str::to_string)
}

fn state(pid: u32) -> Option<char> {
    stat_field(pid, 0)?.chars().next()
}

/// The process's start time (field 22 of /proc/PID/stat).
fn start_time(pid: u32) -> Option<u64> {
    stat_field(pid, 19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_start_time_and_state() {
        let me = std::process::id();
        assert!(start_time(me).is_some_and(|t| t > 0));
        assert!(matches!(state(me), Some('R' | 'S')));
    }
}
