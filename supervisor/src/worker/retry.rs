//! Deciding what a failure leads to: a retry after a delay (the task's own countdown, else the
//! manifest's backoff policy), or the end (failure and dead letters), with the reason. The
//! manifest's `no_retry_on` / `retry_on` lists are matched against the error's type and the
//! type chain the child reports; a task's own `Retry` request is never filtered by them.

use std::time::Duration;
use stem_protocol::manifest::EffectiveTask;
use stem_protocol::{TaskEnvelope, TaskError};

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Retry { delay: Duration },
    GiveUp { reason: String },
}

/// Retries allowed for this envelope: its own `max_retries`, else the manifest's.
pub fn max_retries(envelope: &TaskEnvelope, task: &EffectiveTask) -> u32 {
    envelope.max_retries.unwrap_or(task.max_retries)
}

pub fn decide(envelope: &TaskEnvelope, task: &EffectiveTask, error: &TaskError) -> Decision {
    let max = max_retries(envelope, task);
    if !error.retryable {
        return Decision::GiveUp {
            reason: format!("not retryable ({})", error.kind),
        };
    }
    if let Some(reason) = filtered(task, error) {
        return Decision::GiveUp { reason };
    }
    if envelope.attempt > max {
        return Decision::GiveUp {
            reason: if max == 0 {
                "failed (max_retries is 0)".to_string()
            } else {
                format!(
                    "max_retries exceeded ({max} retries, {} attempts)",
                    envelope.attempt
                )
            },
        };
    }
    let delay = match error.countdown {
        Some(secs) if secs.is_finite() && secs >= 0.0 => Duration::from_secs_f64(secs),
        _ => task.retry.delay(envelope.attempt, rand::random::<f64>()),
    };
    Decision::Retry { delay }
}

/// Why the manifest's rules by error type stop this failure from retrying, if they do.
fn filtered(task: &EffectiveTask, error: &TaskError) -> Option<String> {
    if let Some(name) = task.no_retry_on.iter().find(|n| error.is_a(n)) {
        return Some(if *name == error.kind {
            format!("not retried: {name} is in no_retry_on")
        } else {
            format!("not retried: {} is a {name}, in no_retry_on", error.kind)
        });
    }
    let asked = error.is_a("Retry");
    if !task.retry_on.is_empty() && !asked && !task.retry_on.iter().any(|n| error.is_a(n)) {
        return Some(format!(
            "not retried: {} is not in retry_on ({})",
            error.kind,
            task.retry_on.join(", ")
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use stem_protocol::manifest::Manifest;

    fn task(retries: u32) -> EffectiveTask {
        let text = format!(
            "[tasks.t]\nexec = [\"true\"]\nmax_retries = {retries}\nretry = {{ backoff = \"fixed\", base = \"2s\", jitter = false }}\n"
        );
        Manifest::parse(&text, "m").unwrap().effective("t").unwrap()
    }

    #[test]
    fn retries_until_the_limit_then_gives_up() {
        let mut env = TaskEnvelope::new("t");
        let err = TaskError::new("E", "boom");
        assert_eq!(
            decide(&env, &task(2), &err),
            Decision::Retry {
                delay: Duration::from_secs(2)
            }
        );
        env.attempt = 3;
        assert!(
            matches!(decide(&env, &task(2), &err), Decision::GiveUp { reason } if reason.contains("max_retries exceeded"))
        );
    }

    #[test]
    fn countdown_wins_and_permanent_errors_stop() {
        let env = TaskEnvelope::new("t");
        let mut err = TaskError::new("Retry", "later");
        err.countdown = Some(0.5);
        assert_eq!(
            decide(&env, &task(1), &err),
            Decision::Retry {
                delay: Duration::from_millis(500)
            }
        );
        let fatal = TaskError::new("Fatal", "no").permanent();
        assert!(matches!(
            decide(&env, &task(5), &fatal),
            Decision::GiveUp { .. }
        ));
    }

    fn rules(retry_on: &str, no_retry_on: &str) -> EffectiveTask {
        let text = format!(
            "[tasks.t]\nexec = [\"true\"]\nmax_retries = 3\nretry_on = [{retry_on}]\nno_retry_on = [{no_retry_on}]\n"
        );
        Manifest::parse(&text, "m").unwrap().effective("t").unwrap()
    }

    fn typed(chain: &[&str]) -> TaskError {
        let mut e = TaskError::new(chain[0], "boom");
        e.types = chain.iter().map(|s| s.to_string()).collect();
        e
    }

    #[test]
    fn retry_on_matches_the_type_chain() {
        let env = TaskEnvelope::new("t");
        let task = rules(
            r#""ConnectionError", "TimeoutError""#,
            r#""PermissionError""#,
        );
        let refused = typed(&[
            "ConnectionRefusedError",
            "ConnectionError",
            "OSError",
            "Exception",
        ]);
        assert!(matches!(
            decide(&env, &task, &refused),
            Decision::Retry { .. }
        ));
        let value = typed(&["ValueError", "Exception"]);
        assert!(
            matches!(decide(&env, &task, &value), Decision::GiveUp { reason } if reason == "not retried: ValueError is not in retry_on (ConnectionError, TimeoutError)")
        );
        // no_retry_on wins, also through the chain.
        let denied = typed(&["PermissionError", "OSError", "Exception"]);
        assert!(
            matches!(decide(&env, &task, &denied), Decision::GiveUp { reason } if reason.contains("PermissionError is in no_retry_on"))
        );
        // Errors Stem raises carry no chain: their type is matched.
        let killed = TaskError::new("TimeLimitExceeded", "killed");
        assert!(matches!(
            decide(&env, &task, &killed),
            Decision::GiveUp { .. }
        ));
        // The task's own Retry request is not filtered by retry_on.
        let asked = typed(&["Retry", "Exception"]);
        assert!(matches!(
            decide(&env, &task, &asked),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn no_retry_on_alone_lets_the_rest_retry() {
        let env = TaskEnvelope::new("t");
        let task = rules("", r#""ValueError""#);
        let sub = typed(&[
            "UnicodeDecodeError",
            "UnicodeError",
            "ValueError",
            "Exception",
        ]);
        assert!(
            matches!(decide(&env, &task, &sub), Decision::GiveUp { reason } if reason == "not retried: UnicodeDecodeError is a ValueError, in no_retry_on")
        );
        assert!(matches!(
            decide(&env, &task, &typed(&["KeyError", "LookupError"])),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn envelope_override() {
        let mut env = TaskEnvelope::new("t");
        env.max_retries = Some(0);
        assert!(matches!(
            decide(&env, &task(5), &TaskError::new("E", "x")),
            Decision::GiveUp { .. }
        ));
    }
}
