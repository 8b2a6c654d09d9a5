//! Task states: `pending → received → started → (retry →) success | failure | revoked`; a task
//! that is never run ends `expired` (too late) or `skipped` (a canvas node after a failure).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Pending,
    Received,
    Started,
    Retry,
    Success,
    Failure,
    Revoked,
    /// Not started before its `expires_at`: never run.
    Expired,
    /// A canvas node that can never run (after a failed chain link, a failed chord member's
    /// body): recorded by the commit that failed the canvas, never published.
    Skipped,
}

impl TaskState {
    /// A terminal state never changes again (short of a replay from the dead letters).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Success
                | TaskState::Failure
                | TaskState::Revoked
                | TaskState::Expired
                | TaskState::Skipped
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Received => "received",
            TaskState::Started => "started",
            TaskState::Retry => "retry",
            TaskState::Success => "success",
            TaskState::Failure => "failure",
            TaskState::Revoked => "revoked",
            TaskState::Expired => "expired",
            TaskState::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states() {
        assert!(TaskState::Success.is_terminal());
        assert!(TaskState::Revoked.is_terminal());
        assert!(!TaskState::Retry.is_terminal());
        assert!(TaskState::Skipped.is_terminal());
        assert_eq!(TaskState::parse("skipped"), Some(TaskState::Skipped));
        assert_eq!(TaskState::parse("started"), Some(TaskState::Started));
        assert_eq!(TaskState::parse("nope"), None);
    }
}
