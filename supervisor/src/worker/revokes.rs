//! Revocations: loaded from the revoke store when the worker starts, then followed every half
//! second and handed to the dispatcher, which skips a revoked task that has not started and,
//! with `terminate`, stops a running one (TERM to its process group, KILL to its whole tree after the grace).

use super::delivery::Stage;
use super::dispatcher::{Dispatcher, Event};
use crate::exec::limits::StopRequest;
use std::collections::HashMap;
use std::time::Duration;
use stem_adapters::{Revocation, RevokeStore};
use tokio::sync::mpsc;

const POLL: Duration = Duration::from_millis(500);

pub async fn load(store: &dyn RevokeStore) -> HashMap<String, Revocation> {
    match store.revocations(0).await {
        Ok(list) => {
            if !list.is_empty() {
                tracing::info!("loaded {} revocation(s)", list.len());
            }
            list.into_iter().map(|r| (r.id.clone(), r)).collect()
        }
        Err(e) => {
            tracing::warn!("cannot load revocations ({e}); will follow new ones");
            HashMap::new()
        }
    }
}

pub async fn watch(store: std::sync::Arc<dyn RevokeStore>, events: mpsc::UnboundedSender<Event>) {
    let mut since = stem_protocol::now_ms() - 60_000;
    loop {
        tokio::time::sleep(POLL).await;
        match store.revocations(since).await {
            Ok(list) => {
                for r in list {
                    since = since.max(r.revoked_at);
                    if events.send(Event::Revoked(r)).is_err() {
                        return;
                    }
                }
            }
            Err(e) => tracing::debug!("cannot read revocations ({e})"),
        }
    }
}

impl Dispatcher {
    /// Remembers a revocation; with `terminate`, stops the task if it runs here.
    pub(super) fn apply_revocation(&mut self, r: Revocation) {
        let known = self
            .revoked
            .get(&r.id)
            .is_some_and(|old| old.terminate == r.terminate);
        let (id, terminate) = (r.id.clone(), r.terminate);
        self.revoked.insert(r.id.clone(), r);
        if known || !terminate {
            return;
        }
        for e in self.entries.values() {
            if let Stage::Running(run) = &e.stage {
                if run.task.id == id || run.canvas.as_deref() == Some(id.as_str()) {
                    tracing::info!(task = %id, pid = ?run.pid, "revoked with terminate: stopping its process group");
                    let grace = self.config.terminate_grace;
                    let _ = run.stop.send(StopRequest::Terminate { grace });
                }
            }
        }
    }
}
