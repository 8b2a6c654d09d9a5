//! Signals: SIGTERM and SIGINT go to the dispatcher (the first starts a warm shutdown, the next a
//! cold one). One mechanism: tokio's signal streams.

use super::dispatcher::Event;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

pub async fn forward(events: mpsc::UnboundedSender<Event>) {
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
        if events.send(Event::Signal).is_err() {
            return;
        }
    }
}
