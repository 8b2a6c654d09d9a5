//! Screening a delivery before it takes a run slot: a malformed payload, an unknown task, a
//! poison delivery (redelivered past `max_deliveries`), a revoked task, or one not yet due ends
//! here in a commit of its own; everything else runs.

use super::config::WorkerConfig;
use super::delivery::Outcome;
use super::outcome;
use std::collections::HashMap;
use std::time::Duration;
use stem_adapters::{Commit, Delivery, Payload, Revocation};
use stem_protocol::manifest::EffectiveTask;
use stem_protocol::{TaskEnvelope, TaskError};

pub enum Screened {
    Run(Box<TaskEnvelope>, Box<EffectiveTask>),
    Commit(Box<Commit>, Outcome),
}

fn commit((c, o): (Commit, Outcome)) -> Screened {
    Screened::Commit(Box::new(c), o)
}

pub fn screen(
    config: &WorkerConfig,
    revoked: &HashMap<String, Revocation>,
    d: &Delivery,
) -> Screened {
    let env = match &d.payload {
        Payload::Task(env) => env,
        Payload::Malformed { raw, reason } => {
            tracing::error!(receipt = %d.receipt, "malformed delivery: {reason}");
            return commit(outcome::malformed(d, raw, reason));
        }
    };
    let record = outcome::fresh_record(d, env, &config.worker_id);
    let manifest = &config.manifest;
    let Some(task) = manifest.effective(&env.name) else {
        let known: Vec<&str> = manifest.manifest.tasks.keys().map(String::as_str).collect();
        let error = TaskError::new(
            "UnknownTask",
            format!(
                "task {:?} is not in the manifest {} (it names: {}); it was not run",
                env.name,
                manifest.path.display(),
                known.join(", ")
            ),
        )
        .permanent();
        return commit(outcome::fail(d, env, record, error, "unknown task".into()));
    };
    if d.deliveries > config.max_deliveries {
        let error = TaskError::new(
            "Poison",
            format!(
                "delivered {} times (limit {}) without finishing: the worker running it died each time",
                d.deliveries, config.max_deliveries
            ),
        )
        .permanent();
        let reason = format!("poison: delivered {} times", d.deliveries);
        return commit(outcome::fail(d, env, record, error, reason));
    }
    // Etas and expiries are times on the store's clock.
    let now = crate::ops::time::store_clock_ms();
    let canvas = env.canvas.as_ref().map(|c| c.canvas_id.as_str());
    let revocation = revoked
        .get(&env.id)
        .or_else(|| canvas.and_then(|id| revoked.get(id)))
        .filter(|r| r.expires_at > now);
    if let Some(rev) = revocation {
        return commit(outcome::revoked(d, record, rev.reason.clone()));
    }
    if let Some(expires_at) = env.expires_at.filter(|at| *at <= now) {
        return commit(outcome::expired(d, record, expires_at));
    }
    if env.is_delayed(now) {
        let wait = Duration::from_millis((env.eta.unwrap_or(0) - now).max(0) as u64);
        return commit(outcome::release(d, wait, false));
    }
    // The envelope may lower the manifest's time limits, never raise them.
    let mut task = task;
    stem_protocol::overrides::apply(&mut task, env);
    Screened::Run(env.clone(), Box::new(task))
}
