//! A snapshot of the process table from /proc (pid, parent, start time, state), and signalling
//! one process by identity: a pid with its start time, sent through a pidfd opened and checked
//! first, so a pid the kernel recycled for an unrelated process is never signalled.

use nix::sys::signal::Signal;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;

/// One process, by identity: its pid and its start time (clock ticks after boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Proc {
    pub pid: u32,
    pub start: u64,
}

struct Entry {
    ppid: u32,
    start: u64,
    state: char,
}

/// Every process at one moment.
pub struct Table {
    entries: BTreeMap<u32, Entry>,
}

/// Reads the process table.
pub fn table() -> Table {
    let mut entries = BTreeMap::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(entry) = stat(pid) {
                entries.insert(pid, entry);
            }
        }
    }
    Table { entries }
}

/// The process `pid` is now, if it exists.
pub fn proc_of(pid: u32) -> Option<Proc> {
    stat(pid).map(|e| Proc {
        pid,
        start: e.start,
    })
}

fn stat(pid: u32) -> Option<Entry> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields follow the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(Entry {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

impl Table {
    /// The process `pid` in this snapshot.
    pub fn proc(&self, pid: u32) -> Option<Proc> {
        self.entries.get(&pid).map(|e| Proc {
            pid,
            start: e.start,
        })
    }

    pub fn state(&self, pid: u32) -> Option<char> {
        self.entries.get(&pid).map(|e| e.state)
    }

    /// Direct children of `parent`.
    pub fn orphans_of(&self, parent: u32) -> Vec<Proc> {
        self.entries
            .iter()
            .filter(|(_, e)| e.ppid == parent)
            .map(|(&pid, e)| Proc {
                pid,
                start: e.start,
            })
            .collect()
    }

    /// `roots` that still live (same pid, same start time, not a zombie) and all their live
    /// descendants.
    pub fn with_descendants(&self, roots: impl Iterator<Item = Proc>) -> Vec<Proc> {
        let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (&pid, e) in &self.entries {
            children.entry(e.ppid).or_default().push(pid);
        }
        let mut out = BTreeSet::new();
        let mut stack: Vec<Proc> = roots.filter(|r| self.proc(r.pid) == Some(*r)).collect();
        while let Some(p) = stack.pop() {
            if !out.insert(p) {
                continue;
            }
            for &c in children.get(&p.pid).into_iter().flatten() {
                stack.extend(self.proc(c));
            }
        }
        out.into_iter()
            .filter(|p| self.state(p.pid) != Some('Z'))
            .collect()
    }
}

/// Whether `pid`'s environment holds `name=value`.
/// The children of `pid` (of every thread of it) from `/proc/PID/task/*/children`: a few small
/// reads instead of the whole table. `None` when the kernel does not offer the file.
pub fn children(pid: u32) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("children");
        let text = std::fs::read_to_string(path).ok()?;
        out.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    Some(out)
}

pub fn environ_has(pid: u32, name: &str, value: &str) -> bool {
    let Ok(env) = fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let want = format!("{name}={value}");
    env.split(|&b| b == 0).any(|kv| kv == want.as_bytes())
}

/// Sends `signal` to `p` if it is still that process (not a recycled pid).
#[allow(unsafe_code)]
pub fn signal(p: Proc, signal: Signal) {
    if p.pid <= 1 || p.pid == std::process::id() {
        return;
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, p.pid as libc::pid_t, 0) };
    if fd < 0 {
        // No pidfds (old kernel): check the start time, then signal by pid.
        if proc_of(p.pid) == Some(p) {
            super::unix::signal_process(p.pid, signal);
        }
        return;
    }
    let fd = fd as i32;
    // The descriptor pins the process: if its start time matches now, it is the one we mean.
    if proc_of(p.pid) == Some(p) {
        // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd,
                signal as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            );
        }
    }
    // SAFETY: closing the descriptor opened above.
    unsafe {
        libc::close(fd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_itself_and_its_children() {
        let me = proc_of(std::process::id()).expect("own stat");
        let t = table();
        assert_eq!(t.proc(me.pid), Some(me));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let t = table();
        let kids = t.orphans_of(me.pid);
        assert!(kids.iter().any(|k| k.pid == child.id()), "{kids:?}");
        let all = t.with_descendants(std::iter::once(me));
        assert!(all.iter().any(|k| k.pid == child.id()));
        let gone = Proc {
            pid: child.id(),
            start: 1,
        };
        signal(gone, Signal::SIGKILL); // wrong start time: not signalled
        assert!(child.try_wait().unwrap().is_none());
        signal(proc_of(child.id()).unwrap(), Signal::SIGKILL);
        assert!(!child.wait().unwrap().success());
    }
}
