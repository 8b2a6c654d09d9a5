//! The worker's side of the control plane: answers ping, inspect and stats, and obeys shutdown,
//! pause, resume and revoke commands sent with `stem worker ...`.

use super::state::{Phase, WorkerState};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::{ControlReply, ControlRequest, Revocation};

pub async fn serve(state: Arc<WorkerState>) {
    let mut since = stem_protocol::now_ms();
    let mut backoff = Duration::from_millis(500);
    loop {
        let requests = match state
            .adapters()
            .control
            .requests(&state.config.worker_id, since, Duration::from_secs(1))
            .await
        {
            Ok(r) => {
                backoff = Duration::from_millis(500);
                r
            }
            Err(e) => {
                tracing::debug!("cannot read control requests ({e})");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        for request in requests {
            since = since.max(request.sent_at);
            let reply = answer(&state, &request);
            let reply = ControlReply {
                request_id: request.id.clone(),
                worker: state.config.worker_id.clone(),
                reply,
                at: stem_protocol::now_ms(),
            };
            if let Err(e) = state.adapters().control.reply(&reply).await {
                tracing::warn!("cannot reply to {} ({e})", request.command);
            }
        }
    }
}

fn answer(state: &WorkerState, request: &ControlRequest) -> Value {
    let queue_arg = || {
        request
            .args
            .get("queue")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match request.command.as_str() {
        "ping" => json!({"ok": true, "pong": true}),
        "inspect" => inspect(state),
        "stats" => stats(state),
        "shutdown" => {
            tracing::info!("shutdown asked over the control plane");
            state.advance(Phase::Warm);
            json!({"ok": true, "shutting_down": true})
        }
        "pause" | "resume" => match queue_arg() {
            Some(q) => {
                let mut paused = state.paused.lock().expect("paused lock");
                if request.command == "pause" {
                    paused.insert(q.clone());
                } else {
                    paused.remove(&q);
                }
                tracing::info!(queue = %q, "{}d over the control plane", request.command);
                json!({"ok": true, "queue": q, "paused": paused.iter().collect::<Vec<_>>()})
            }
            None => json!({"ok": false, "error": "missing queue"}),
        },
        "revoke" => {
            let Some(id) = request.args.get("id").and_then(Value::as_str) else {
                return json!({"ok": false, "error": "missing id"});
            };
            let terminate = request
                .args
                .get("terminate")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let running = state.running.lock().expect("running lock").contains_key(id);
            super::revokes::apply(
                state,
                Revocation {
                    id: id.to_string(),
                    terminate,
                    reason: None,
                    revoked_at: request.sent_at,
                    expires_at: request.sent_at + 24 * 3600 * 1000,
                },
            );
            json!({"ok": true, "id": id, "running_here": running, "terminating": running && terminate})
        }
        other => json!({"ok": false, "error": format!("unknown command {other:?}")}),
    }
}

pub fn inspect(state: &WorkerState) -> Value {
    let now = stem_protocol::now_ms();
    let running: Vec<Value> = state
        .running
        .lock()
        .expect("running lock")
        .iter()
        .map(|(id, r)| {
            json!({
                "id": id, "name": r.name, "queue": r.queue, "runtime": r.runtime, "pid": r.pid,
                "started_at": r.started_at, "runtime_ms": now - r.started_at,
                "deliveries": r.delivery.deliveries,
            })
        })
        .collect();
    let revoked: Vec<String> = state
        .revoked
        .lock()
        .expect("revoked lock")
        .keys()
        .cloned()
        .collect();
    let paused: Vec<String> = state
        .paused
        .lock()
        .expect("paused lock")
        .iter()
        .cloned()
        .collect();
    json!({
        "running": running,
        "reserved": state.reserved.lock().expect("reserved lock").values().map(|d| json!({"id": d.task_id(), "queue": d.queue, "deliveries": d.deliveries})).collect::<Vec<_>>(),
        "revoked": revoked,
        "paused": paused,
        "queues": state.config.queues,
    })
}

pub fn stats(state: &WorkerState) -> Value {
    let c = &state.counters;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    json!({
        "processed": load(&c.processed),
        "succeeded": load(&c.succeeded),
        "failed": load(&c.failed),
        "retried": load(&c.retried),
        "revoked": load(&c.revoked),
        "dead_lettered": load(&c.dead_lettered),
        "in_flight": state.in_flight(),
        "reserved": state.reserved.lock().expect("reserved lock").len(),
        "prefetch": state.config.prefetch,
        "concurrency": state.config.concurrency,
        "uptime_s": (stem_protocol::now_ms() - state.started_at) / 1000,
        "rss_mb": crate::exec::unix::rss_mb(std::process::id()),
        "pools": state.executor.pool_states(),
        "pid": std::process::id(),
    })
}
