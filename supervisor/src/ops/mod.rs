//! What the commands do, as library functions returning data: the CLI parses arguments, calls
//! one of these and prints the result (text or JSON); the HTTP API will return the same values
//! as JSON. Nothing here prints, prompts or exits: destructive operations take an explicit
//! `dry_run` or a plan made beforehand, and every failure is an [`OpsError`] whose
//! [`kind`](OpsError::kind) says whose fault it is.
//!
//! Each function takes the connected [`stem_adapters::Adapters`]; connecting (and choosing the
//! URLs) is the caller's business.

pub mod bulk;
pub mod canvas;
pub mod canvas_summary;
pub mod control;
pub mod debounce;
pub mod dlq;
pub mod enqueue;
mod error;
pub mod events;
pub mod health;
pub mod migrate;
pub mod overrides;
pub mod queue_tasks;
pub mod queues;
pub mod results;
pub mod retry;
pub mod revoke;
pub mod schedules;
pub mod specs;
pub mod task_stats;
pub mod time;
pub mod unique;
pub mod workers;
pub mod workflow_control;
pub mod workflows;

pub use error::{OpsError, OpsErrorKind, OpsResult};

/// Fixtures shared by the ops tests: a fresh in-memory store and stand-ins for a worker.
#[cfg(test)]
pub(crate) mod tests {
    use serde_json::Value;
    use std::time::Duration;
    use stem_adapters::{
        connect, Adapters, ConnectOptions, ControlReply, ControlRequest, DeadLetter, Heartbeat,
    };
    use stem_protocol::{now_ms, TaskEnvelope};

    /// A fresh in-memory store; `name` must be unique to the test.
    pub async fn memory(name: &str) -> Adapters {
        let url = format!("memory://{name}");
        connect(&url, &url, None, &ConnectOptions::default())
            .await
            .expect("memory store")
    }

    /// Publishes a task `t` to `queue`, fetches it and dead-letters it, as a worker would after
    /// its last retry; returns its id.
    pub async fn dead_letter(adapters: &Adapters, queue: &str) -> String {
        let mut env = TaskEnvelope::new("t");
        env.queue = queue.into();
        adapters
            .broker
            .publish(&[env.clone()])
            .await
            .expect("publish");
        let lease = Duration::from_secs(30);
        let got = adapters
            .broker
            .fetch("w", &[queue.into()], 1, lease, Duration::from_secs(5))
            .await
            .expect("fetch");
        let delivery = got.into_iter().next().expect("a delivery");
        let letter = DeadLetter {
            id: env.id.clone(),
            queue: queue.into(),
            envelope: Some(env.clone()),
            raw: None,
            reason: "max_retries exceeded".into(),
            error: None,
            sealed_error: None,
            dead_at: now_ms(),
            replay_count: 0,
            replayed_at: None,
        };
        adapters
            .broker
            .dead_letter(&delivery, &letter)
            .await
            .expect("dead letter");
        env.id
    }

    /// Records a heartbeat of `worker` sent `age_ms` ago.
    pub async fn beat(adapters: &Adapters, worker: &str, age_ms: i64, stats: Value) {
        let now = now_ms();
        let heartbeat = Heartbeat {
            worker: worker.into(),
            host: "host".into(),
            pid: 1,
            queues: vec!["default".into()],
            in_flight: 0,
            version: "test".into(),
            started_at: now - age_ms,
            at: now - age_ms,
            stats,
        };
        adapters
            .control
            .heartbeat(&heartbeat, Duration::from_secs(300))
            .await
            .expect("heartbeat");
    }

    /// Stands in for worker `worker`: waits for the first control request and answers `reply`.
    /// Returns the request it answered; panics when none comes within 30 seconds.
    pub async fn answer_one(adapters: Adapters, worker: &str, reply: Value) -> ControlRequest {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let request = loop {
            assert!(
                std::time::Instant::now() < deadline,
                "{worker}: no control request within 30s"
            );
            let got = adapters
                .control
                .requests(worker, 0, Duration::from_secs(10))
                .await
                .expect("requests");
            if let Some(r) = got.into_iter().next() {
                break r;
            }
        };
        adapters
            .control
            .reply(&ControlReply {
                request_id: request.id.clone(),
                worker: worker.into(),
                reply,
                at: now_ms(),
            })
            .await
            .expect("reply");
        request
    }
}
