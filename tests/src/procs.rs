//! Process inspection through /proc: children, descendants, states, command lines.

use std::fs;
use std::path::Path;

/// Direct children of `pid` (every thread's children list).
pub fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let list = fs::read_to_string(task.path().join("children")).unwrap_or_default();
        out.extend(
            list.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Every descendant of `pid`, depth first.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut stack = children(pid);
    while let Some(p) = stack.pop() {
        out.push(p);
        stack.extend(children(p));
    }
    out
}

/// The one-letter state of a process (`R`, `S`, `Z`...), None when it is gone.
pub fn state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the state follows the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.trim_start().chars().next()
}

/// Children of `pid` that are zombies (exited, not reaped).
pub fn zombie_children(pid: u32) -> Vec<u32> {
    children(pid)
        .into_iter()
        .filter(|c| state(*c) == Some('Z'))
        .collect()
}

/// A process's command line, arguments joined by spaces.
pub fn cmdline(pid: u32) -> String {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw)
        .split('\0')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Live (non-zombie) processes whose command line contains `needle` and whose working
/// directory is under `dir` — the tasks of one test's folder, not another test's.
pub fn matching(needle: &str, dir: &Path) -> Vec<u32> {
    let me = std::process::id();
    let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    all_pids()
        .into_iter()
        .filter(|&p| p != me)
        .filter(|&p| state(p).is_some_and(|s| s != 'Z'))
        .filter(|&p| cmdline(p).contains(needle))
        .filter(|&p| fs::read_link(format!("/proc/{p}/cwd")).is_ok_and(|cwd| cwd.starts_with(&dir)))
        .collect()
}

/// Whether the process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    state(pid).is_some_and(|s| s != 'Z')
}
