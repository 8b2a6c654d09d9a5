//! Signals: the first SIGTERM or SIGINT starts a warm shutdown, the second a cold one.

use super::state::{Phase, WorkerState};
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

pub async fn watch_signals(state: Arc<WorkerState>) {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        match state.phase() {
            Phase::Running => {
                tracing::info!(
                    running = state.in_flight(),
                    "warm shutdown: no new tasks; waiting for running ones (signal again for a cold shutdown)"
                );
                state.advance(Phase::Warm);
            }
            _ => {
                tracing::warn!(
                    running = state.in_flight(),
                    "cold shutdown: killing children and releasing their tasks"
                );
                state.advance(Phase::Cold);
            }
        }
    }
}
