//! Deciding what a failure leads to: a retry after a delay (the task's own countdown, else the
//! manifest's backoff policy), or the end (failure and dead letters), with the reason.

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
