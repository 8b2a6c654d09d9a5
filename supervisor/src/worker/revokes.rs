//! Revocations: loaded from the revoke store when the worker starts, then followed every half
//! second. A revoked task that has not started is skipped; with `terminate`, a running one is
//! stopped (TERM to its process group, KILL after the grace period).

use super::state::WorkerState;
use crate::exec::limits::StopRequest;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::Revocation;

const POLL: Duration = Duration::from_millis(500);

pub async fn load(state: &WorkerState) {
    match state.adapters().revokes.revocations(0).await {
        Ok(list) => {
            let n = list.len();
            for r in list {
                apply(state, r);
            }
            if n > 0 {
                tracing::info!("loaded {n} revocation(s)");
            }
        }
        Err(e) => tracing::warn!("cannot load revocations ({e}); will retry"),
    }
}

pub async fn watch(state: Arc<WorkerState>) {
    let mut since = stem_protocol::now_ms() - 60_000;
    loop {
        tokio::time::sleep(POLL).await;
        match state.adapters().revokes.revocations(since).await {
            Ok(list) => {
                for r in list {
                    since = since.max(r.revoked_at);
                    apply(&state, r);
                }
            }
            Err(e) => tracing::debug!("cannot read revocations ({e})"),
        }
    }
}

/// Remembers a revocation and stops the task if it runs here and `terminate` is set.
pub fn apply(state: &WorkerState, revocation: Revocation) {
    let id = revocation.id.clone();
    let terminate = revocation.terminate;
    let known = state
        .revoked
        .lock()
        .expect("revoked lock")
        .insert(id.clone(), revocation)
        .is_some_and(|old| old.terminate == terminate);
    if known || !terminate {
        return;
    }
    if let Some(r) = state.running.lock().expect("running lock").get(&id) {
        tracing::info!(task = %id, pid = ?r.pid, "revoked with terminate: stopping its process group");
        let _ = r.stop.send(StopRequest::Terminate {
            grace: state.config.terminate_grace,
        });
    }
}
