//! What one envelope may change of its task's manifest settings: lower its time limits (never
//! raise them — a limit an envelope names above the manifest's, or where the manifest has none,
//! counts only up to the manifest's), so a producer, or anyone who can write to the broker,
//! can make a task stop sooner but never run longer than the manifest allows.

use crate::envelope::TaskEnvelope;
use crate::manifest::EffectiveTask;
use std::time::Duration;

/// `task` with the envelope's time limits applied: each the lower of the manifest's and the
/// envelope's; a soft limit not below the hard one is dropped (the hard limit comes first).
pub fn apply(task: &mut EffectiveTask, env: &TaskEnvelope) {
    task.time_limit = lower(task.time_limit, env.time_limit_ms);
    task.soft_time_limit = lower(task.soft_time_limit, env.soft_time_limit_ms);
    if let (Some(soft), Some(hard)) = (task.soft_time_limit, task.time_limit) {
        if soft >= hard {
            task.soft_time_limit = None;
        }
    }
}

fn lower(manifest: Option<Duration>, envelope_ms: Option<u64>) -> Option<Duration> {
    let asked = envelope_ms.map(Duration::from_millis);
    match (manifest, asked) {
        (Some(m), Some(a)) => Some(m.min(a)),
        (m, a) => m.or(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    fn task(limits: &str) -> EffectiveTask {
        let text = format!("[tasks.t]\nexec = [\"true\"]\n{limits}");
        Manifest::parse(&text, "m").unwrap().effective("t").unwrap()
    }

    #[test]
    fn an_envelope_lowers_limits_and_never_raises_them() {
        let mut env = TaskEnvelope::new("t");
        env.time_limit_ms = Some(2_000);
        env.soft_time_limit_ms = Some(1_000);
        let mut t = task("time_limit = \"10s\"\nsoft_time_limit = \"5s\"\n");
        apply(&mut t, &env);
        assert_eq!(t.time_limit, Some(Duration::from_secs(2)));
        assert_eq!(t.soft_time_limit, Some(Duration::from_secs(1)));

        // Ten years asked: the manifest's minute stands.
        env.time_limit_ms = Some(crate::envelope::MAX_TIME_LIMIT_MS);
        env.soft_time_limit_ms = None;
        let mut t = task("time_limit = \"60s\"\n");
        apply(&mut t, &env);
        assert_eq!(t.time_limit, Some(Duration::from_secs(60)));

        // No limit in the manifest: the envelope's is a limit of its own.
        env.time_limit_ms = Some(3_000);
        let mut t = task("");
        apply(&mut t, &env);
        assert_eq!(t.time_limit, Some(Duration::from_secs(3)));
    }

    #[test]
    fn a_soft_limit_left_above_the_hard_one_is_dropped() {
        let mut env = TaskEnvelope::new("t");
        env.time_limit_ms = Some(1_000);
        let mut t = task("time_limit = \"10s\"\nsoft_time_limit = \"5s\"\n");
        apply(&mut t, &env);
        assert_eq!(t.time_limit, Some(Duration::from_secs(1)));
        assert_eq!(t.soft_time_limit, None);
    }
}
