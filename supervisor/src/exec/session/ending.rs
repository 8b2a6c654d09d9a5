//! How one task's run on a session ends when it does not end by force: answered (a stopped
//! task is recorded as stopped whatever it answered), the child gone before answering (its exit
//! and the last stderr line say why), or the child out of step with the protocol.

use super::{Session, KILL_SETTLE};
use crate::exec::limits::{forced_outcome, Forced, Limits};
use crate::exec::unix::describe_exit;
use crate::exec::RunOutcome;
use std::time::Duration;
use stem_protocol::TaskError;

impl Session {
    pub(super) fn answered(
        &mut self,
        result: Result<serde_json::Value, TaskError>,
        forced: Option<Forced>,
        limits: Limits,
    ) -> RunOutcome {
        let stderr = self.stderr.tail();
        match forced {
            // A stopped task is recorded as stopped, whatever it managed to answer.
            Some(f) => RunOutcome {
                healthy: self.forkserver && self.stdin.is_some(),
                ..forced_outcome(f, limits, stderr)
            },
            None => RunOutcome {
                result,
                stderr,
                forced: None,
                healthy: self.stdin.is_some(),
            },
        }
    }

    /// stdout closed before an answer: the child (or, for a fork server, the server) is gone.
    pub(super) async fn ended_early(
        &mut self,
        forced: Option<Forced>,
        soft_sent: bool,
        limits: Limits,
    ) -> RunOutcome {
        let status = tokio::time::timeout(KILL_SETTLE, self.child.wait()).await;
        self.stderr.wait_closed(Duration::from_secs(1)).await;
        let stderr = self.stderr.tail();
        if let Some(f) = forced {
            return RunOutcome {
                healthy: false,
                ..forced_outcome(f, limits, stderr)
            };
        }
        let how = match status {
            Ok(Ok(s)) => describe_exit(s),
            _ => "closed its stdout".to_string(),
        };
        if soft_sent {
            let how = format!("child `{}` {how} before answering", self.label);
            return RunOutcome {
                result: Err(limits.soft_exceeded(&how, stderr.clone())),
                stderr,
                forced: None,
                healthy: false,
            };
        }
        let mut message = format!("child `{}` {how} before answering", self.label);
        if let Some(last) = stderr.lines().rev().find(|l| !l.trim().is_empty()) {
            message.push_str(&format!("; last stderr line: {}", last.trim()));
        }
        RunOutcome {
            result: Err(TaskError::new("ChildExited", message).with_traceback(stderr.clone())),
            stderr,
            forced: None,
            healthy: false,
        }
    }

    pub(super) fn broken(&mut self, message: String) -> RunOutcome {
        let stderr = self.stderr.tail();
        self.broken_with(TaskError::new("ProtocolError", message).with_traceback(stderr))
    }

    pub(super) fn broken_with(&mut self, error: TaskError) -> RunOutcome {
        self.kill_now();
        RunOutcome {
            result: Err(error),
            stderr: self.stderr.tail(),
            forced: None,
            healthy: false,
        }
    }
}
