//! The worker's side of the control plane: a task that reads requests (`stem worker ...`) and
//! hands each to the dispatcher, which answers from the state it owns (ping, inspect, stats,
//! shutdown, pause, resume, revoke); the task then sends the reply.

use super::delivery::Stage;
use super::dispatcher::{Dispatcher, Event, Phase};
use crate::exec::limits::StopRequest;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::{ControlReply, ControlRequest, Revocation};
use tokio::sync::{mpsc, oneshot};

pub async fn serve(config: Arc<super::WorkerConfig>, events: mpsc::UnboundedSender<Event>) {
    let control = &config.adapters.control;
    let mut since = stem_protocol::now_ms();
    let mut backoff = Duration::from_millis(500);
    loop {
        let requests = match control
            .requests(&config.worker_id, since, Duration::from_secs(1))
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
            let (tx, rx) = oneshot::channel();
            let command = request.command.clone();
            let id = request.id.clone();
            if events.send(Event::Control(request, tx)).is_err() {
                return;
            }
            let Ok(reply) = rx.await else { return };
            let reply = ControlReply {
                request_id: id,
                worker: config.worker_id.clone(),
                reply,
                at: stem_protocol::now_ms(),
            };
            if let Err(e) = control.reply(&reply).await {
                tracing::warn!("cannot reply to {command} ({e})");
            }
        }
    }
}

impl Dispatcher {
    pub(super) fn answer(&mut self, request: &ControlRequest) -> Value {
        let queue_arg = || {
            request
                .args
                .get("queue")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match request.command.as_str() {
            "ping" => json!({"ok": true, "pong": true}),
            "inspect" => self.inspect(),
            "stats" => self.stats(),
            "shutdown" => {
                let mode = request
                    .args
                    .get("mode")
                    .and_then(Value::as_str)
                    .unwrap_or("warm");
                tracing::info!(mode, "shutdown asked over the control plane");
                match mode {
                    "warm" => self.advance(Phase::Warm),
                    "soft" => {
                        for e in self.entries.values() {
                            if let Stage::Running(r) = &e.stage {
                                let _ = r.stop.send(StopRequest::Soft);
                            }
                        }
                        self.advance(Phase::Warm);
                    }
                    "hard" => self.advance(Phase::Cold),
                    other => {
                        return json!({"ok": false, "error": format!("unknown shutdown mode {other:?} (warm, soft, hard)")})
                    }
                }
                json!({"ok": true, "shutting_down": true, "mode": mode})
            }
            "pause" | "resume" => match queue_arg() {
                Some(q) => {
                    if request.command == "pause" {
                        self.paused.insert(q.clone());
                        self.give_back_paused();
                    } else {
                        self.paused.remove(&q);
                    }
                    tracing::info!(queue = %q, "{}d over the control plane", request.command);
                    json!({"ok": true, "queue": q, "paused": self.paused.iter().collect::<Vec<_>>()})
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
                let running = self.entries.values().any(|e| match &e.stage {
                    Stage::Running(r) => r.task.id == id,
                    _ => false,
                });
                self.apply_revocation(Revocation {
                    id: id.to_string(),
                    terminate,
                    reason: None,
                    revoked_at: request.sent_at,
                    expires_at: request.sent_at + 24 * 3600 * 1000,
                });
                json!({"ok": true, "id": id, "running_here": running, "terminating": running && terminate})
            }
            other => json!({"ok": false, "error": format!("unknown command {other:?}")}),
        }
    }

    fn inspect(&self) -> Value {
        let now = stem_protocol::now_ms();
        let mut running = Vec::new();
        let mut reserved = Vec::new();
        for e in self.entries.values() {
            match &e.stage {
                Stage::Running(r) => running.push(json!({
                    "id": r.task.id, "name": r.task.name, "queue": r.task.queue,
                    "runtime": r.runtime, "pid": r.pid, "started_at": r.started_at,
                    "runtime_ms": now - r.started_at, "deliveries": e.delivery.deliveries,
                    "lease_lost": e.lease_lost,
                })),
                Stage::Reserved => reserved.push(json!({
                    "id": e.delivery.task_id(), "queue": e.delivery.queue,
                    "deliveries": e.delivery.deliveries,
                })),
                Stage::Committing(_) => {}
            }
        }
        json!({
            "running": running,
            "reserved": reserved,
            "revoked": self.revoked.keys().collect::<Vec<_>>(),
            "paused": self.paused.iter().collect::<Vec<_>>(),
            "queues": self.config.queues,
        })
    }

    pub(super) fn stats(&self) -> Value {
        let mut stats = self.counters.snapshot();
        let reserved = self
            .entries
            .values()
            .filter(|e| matches!(e.stage, Stage::Reserved))
            .count();
        let extra = json!({
            "in_flight": self.in_flight(),
            "reserved": reserved,
            "prefetch": self.prefetch.current(self.config.concurrency),
            "prefetch_adaptive": self.prefetch.adaptive(),
            "concurrency": self.config.concurrency,
            "uptime_s": (stem_protocol::now_ms() - self.started_at) / 1000,
            "rss_mb": crate::exec::unix::rss_mb(std::process::id()),
            "pools": self.ctx.executor.pool_states(),
            "pid": std::process::id(),
        });
        if let (Some(s), Value::Object(extra)) = (stats.as_object_mut(), extra) {
            s.extend(extra);
        }
        stats
    }
}
