//! The few calls that need the OS directly: signalling a process group, and the `pre_exec`
//! hook that sets rlimits and asks the kernel to kill the child when the supervisor dies.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::str::FromStr;
use stem_protocol::manifest::Rlimits;

/// Sends `signal` to the process group `pgid`; a group that is already gone is not an error.
pub fn signal_group(pgid: u32, signal: Signal) {
    if pgid <= 1 {
        return;
    }
    match killpg(Pid::from_raw(pgid as i32), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pgid, %signal, "cannot signal process group: {e}"),
    }
}

/// Sends `signal` to the one process `pid` (not its group): the soft limit warns the task's own
/// process and nothing it started. A process that is already gone is not an error.
pub fn signal_process(pid: u32, signal: Signal) {
    if pid <= 1 {
        return;
    }
    match nix::sys::signal::kill(Pid::from_raw(pid as i32), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pid, %signal, "cannot signal process: {e}"),
    }
}

/// Restores SIGPIPE's default action (the Rust runtime ignores it, so a write to a closed pipe
/// is an EPIPE error and `println!` panics): a printing command then ends quietly when its
/// reader is gone, as other Unix tools do.
#[allow(unsafe_code)]
pub fn default_sigpipe() {
    // SAFETY: installing the default disposition for one signal before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `"SIGUSR1"` → the signal. The manifest validates names, so unknown ones fall back to SIGUSR1.
pub fn parse_signal(name: &str) -> Signal {
    Signal::from_str(name).unwrap_or(Signal::SIGUSR1)
}

/// Human text for a wait status: `exited with status 3` or `killed by SIGSEGV`.
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        format!("exited with status {code}")
    } else if let Some(sig) = status.signal() {
        let name = Signal::try_from(sig)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| format!("signal {sig}"));
        format!("killed by {name}")
    } else {
        "ended".to_string()
    }
}

/// Installs the `pre_exec` hook: entering its cgroup (writing `0` to the `cgroup.procs`
/// descriptor `cgroup`, so the program and all it starts are inside from their first
/// instruction), parent-death signal and resource limits.
#[allow(unsafe_code)]
pub fn prepare_child(cmd: &mut tokio::process::Command, limits: Rlimits, cgroup: Option<i32>) {
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (write, prctl, setrlimit) without allocating.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(fd) = cgroup {
                // A failure is noticed by the parent, which then moves or tracks the child.
                libc::write(fd, b"0".as_ptr().cast(), 1);
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            if let Some(mb) = limits.memory_mb {
                set_limit(libc::RLIMIT_AS, mb.saturating_mul(1024 * 1024))?;
            }
            if let Some(secs) = limits.cpu_seconds {
                set_limit(libc::RLIMIT_CPU, secs)?;
            }
            if let Some(n) = limits.open_files {
                set_limit(libc::RLIMIT_NOFILE, n)?;
            }
            Ok(())
        });
    }
}

#[allow(unsafe_code)]
fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: setrlimit reads a valid, initialised struct.
    if unsafe { libc::setrlimit(resource, &lim) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Resident memory of `pid` in MiB, from /proc (None when it is gone).
pub fn rss_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
