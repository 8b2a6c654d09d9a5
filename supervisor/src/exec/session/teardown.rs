//! Ending what a session's child runs: one task's processes (its fork, or the child, and every
//! process either started), what a finished task left behind, or the child itself.

use super::Session;
use super::EXIT_GRACE;
use crate::exec::unix::signal_group;
use nix::sys::signal::Signal;
use stem_protocol::SupervisorMessage;
use tokio::io::AsyncWriteExt;

impl Session {
    /// Stops the running task by force: a fork server's fork (`target`) and everything it
    /// started, the server kept; otherwise the child and everything it started.
    pub(super) fn kill_task(&mut self, target: Option<u32>) {
        match target {
            Some(fork) if self.forkserver && fork != self.pid => {
                signal_group(fork, Signal::SIGKILL);
                self.tree.kill_except(&[self.pid]);
            }
            _ => self.kill_now(),
        }
    }

    /// After a task answered: every process it started that is still running (a `setsid`
    /// daemon, a double fork) is killed; the child (and a fork server's finishing fork) stay.
    pub(super) fn kill_leftovers(&mut self, target: Option<u32>) {
        let mut keep = vec![self.pid];
        keep.extend(target.filter(|_| self.forkserver));
        self.tree.kill_except(&keep);
    }

    pub(super) fn kill_now(&mut self) {
        signal_group(self.pid, Signal::SIGKILL);
        self.tree.kill_all();
    }

    /// Ends the child: EOF on stdin, a short grace to exit, then KILL to its whole tree (so no
    /// grandchild survives, in its group or not), then reaped.
    pub async fn close(mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin
                .write_all(SupervisorMessage::Shutdown.to_line().as_bytes())
                .await;
            drop(stdin);
        }
        let exited = tokio::time::timeout(EXIT_GRACE, self.child.wait())
            .await
            .is_ok();
        signal_group(self.pid, Signal::SIGKILL);
        self.tree.kill_all();
        if !exited {
            let _ = self.child.wait().await;
        }
    }

    /// Ends the child at once (it is broken or the worker is stopping cold).
    pub async fn kill(mut self) {
        self.stdin.take();
        self.kill_now();
        let _ = self.child.wait().await;
    }
}
