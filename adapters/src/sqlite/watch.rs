//! Cross-process wake-ups for an SQLite file, where the OS tells: on Linux, an inotify watch on
//! the file's folder wakes this process's waiters as soon as another process writes the
//! database or its write-ahead log, so a worker starts a task enqueued elsewhere within a
//! millisecond instead of at its next poll. The polling in `wait.rs` stays as the fallback
//! (file systems without inotify, such as NFS) and the safety net.

use std::sync::{Arc, Weak};
use tokio::sync::Notify;

/// Starts a thread that wakes `notify`'s waiters whenever `path` or its `-wal` changes; it ends
/// once every store of that file is gone. Does nothing where inotify is not available.
pub(super) fn watch(path: &str, notify: &Arc<Notify>) {
    #[cfg(target_os = "linux")]
    linux::watch(path, Arc::downgrade(notify));
    #[cfg(not(target_os = "linux"))]
    let _ = (path, notify);
}

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    use std::os::fd::AsFd;
    use std::path::Path;

    pub fn watch(path: &str, notify: Weak<Notify>) {
        let path = Path::new(path);
        let (Some(name), Some(dir)) = (path.file_name(), path.parent()) else {
            return;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let Ok(inotify) = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) else {
            return;
        };
        let mask = AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO;
        if let Err(e) = inotify.add_watch(dir, mask) {
            tracing::debug!("no inotify watch on {} ({e}); polling only", dir.display());
            return;
        }
        let name = name.to_os_string();
        let mut wal = name.clone();
        wal.push("-wal");
        let spawned = std::thread::Builder::new()
            .name("stem-sqlite-watch".into())
            .spawn(move || run(inotify, &name, &wal, notify));
        if let Err(e) = spawned {
            tracing::debug!("no inotify thread for the SQLite file ({e}); polling only");
        }
    }

    fn run(inotify: Inotify, name: &std::ffi::OsStr, wal: &std::ffi::OsStr, notify: Weak<Notify>) {
        loop {
            // A second's timeout checks whether any store of the file is left.
            let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
            let ready = poll(&mut fds, PollTimeout::from(1000u16));
            let Some(notify) = notify.upgrade() else {
                return;
            };
            if !matches!(ready, Ok(n) if n > 0) {
                continue;
            }
            let Ok(events) = inotify.read_events() else {
                continue;
            };
            let ours = events
                .iter()
                .any(|e| e.name.as_deref().is_some_and(|n| n == name || n == wal));
            if ours {
                notify.notify_waiters();
            }
        }
    }
}
