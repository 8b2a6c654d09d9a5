//! What of a task's own output the worker's log and its telemetry may show. With encryption on
//! (`STEM_ENCRYPTION_KEYS`), a task's error messages, stderr and log lines, and lines a child
//! wrote that were not protocol messages, are sealed in the stores; the worker's log then says
//! only that they were withheld and names the task, unless the operator opts in with
//! `STEM_LOG_TASK_OUTPUT=true`. Span statuses sent over OpenTelemetry carry the error's kind
//! only whenever encryption is on.

use std::borrow::Cow;
use std::sync::OnceLock;

/// The variable an operator sets to `true` to log task output with encryption on.
pub const LOG_TASK_OUTPUT: &str = "STEM_LOG_TASK_OUTPUT";

/// Whether a task's output may be written to the worker's log: always without encryption;
/// with it, only when `STEM_LOG_TASK_OUTPUT` is true.
pub fn log_task_output() -> bool {
    static ALLOWED: OnceLock<bool> = OnceLock::new();
    *ALLOWED.get_or_init(|| {
        !stem_adapters::codec::sealing_on() || opted_in(std::env::var(LOG_TASK_OUTPUT).ok())
    })
}

fn opted_in(value: Option<String>) -> bool {
    matches!(
        value
            .as_deref()
            .map(str::trim)
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("true" | "1" | "yes" | "on")
    )
}

/// The kind of a `Kind: message` error text.
fn kind_of(error: &str) -> &str {
    error.split_once(": ").map_or(error, |(kind, _)| kind)
}

/// A task's error text (`Kind: message`) as the worker's log may show it.
pub fn error_for_log(error: &str) -> Cow<'_, str> {
    if log_task_output() {
        Cow::Borrowed(error)
    } else {
        Cow::Owned(withheld(kind_of(error)))
    }
}

/// A task's error text as telemetry may carry it: its kind only with encryption on.
pub fn error_for_telemetry(error: &str) -> Cow<'_, str> {
    if stem_adapters::codec::sealing_on() {
        Cow::Owned(withheld(kind_of(error)))
    } else {
        Cow::Borrowed(error)
    }
}

fn withheld(kind: &str) -> String {
    format!("{kind} (message withheld: encryption is on; {LOG_TASK_OUTPUT}=true logs it)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_is_kept_and_the_message_dropped() {
        assert_eq!(kind_of("ValueError: secret text"), "ValueError");
        assert_eq!(kind_of("Bare"), "Bare");
        assert!(!withheld(kind_of("E: secret")).contains("secret"));
    }

    #[test]
    fn opting_in_takes_true_values_only() {
        assert!(opted_in(Some("true".into())));
        assert!(opted_in(Some(" TRUE ".into())));
        assert!(!opted_in(Some("false".into())));
        assert!(!opted_in(None));
    }
}
