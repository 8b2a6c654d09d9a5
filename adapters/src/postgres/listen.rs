//! One dedicated LISTEN connection per store. Notifications (sent by the schema's triggers on
//! the channel named after the schema) fan out to waiters through `tokio::sync::Notify`: one for
//! task wake-ups, one per awaited result id, and one each for control requests, replies and
//! events. When the connection drops it is re-made with backoff; every waiter is woken then,
//! since notifications sent meanwhile are lost, and waits fall back to short polls until the
//! listener is back.

use super::settings::Settings;
use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tokio_postgres::AsyncMessage;

/// The wake-up points waiters sleep on.
pub(crate) struct Signals {
    pub tasks: Notify,
    pub control: Notify,
    pub replies: Notify,
    pub events: Notify,
    /// Told by `interrupt_fetches`: a fetch waiting for tasks returns at once.
    pub stop_fetch: Notify,
    results: Mutex<HashMap<String, (Arc<Notify>, usize)>>,
    listening: watch::Sender<bool>,
}

/// A registration for one result id's notifications; unregisters on drop.
pub(crate) struct ResultWaiter<'a> {
    signals: &'a Signals,
    id: String,
    pub notify: Arc<Notify>,
}

impl Drop for ResultWaiter<'_> {
    fn drop(&mut self) {
        let mut map = self.signals.results.lock().expect("results lock");
        if let Some(entry) = map.get_mut(&self.id) {
            entry.1 -= 1;
            if entry.1 == 0 {
                map.remove(&self.id);
            }
        }
    }
}

impl Signals {
    pub fn new() -> (Arc<Signals>, watch::Receiver<bool>) {
        let (listening, rx) = watch::channel(false);
        let signals = Signals {
            tasks: Notify::new(),
            control: Notify::new(),
            replies: Notify::new(),
            events: Notify::new(),
            stop_fetch: Notify::new(),
            results: Mutex::default(),
            listening,
        };
        (Arc::new(signals), rx)
    }

    pub fn result_waiter(&self, id: &str) -> ResultWaiter<'_> {
        let mut map = self.results.lock().expect("results lock");
        let entry = map
            .entry(id.to_string())
            .or_insert_with(|| (Arc::new(Notify::new()), 0));
        entry.1 += 1;
        ResultWaiter {
            signals: self,
            id: id.to_string(),
            notify: entry.0.clone(),
        }
    }

    fn is_listening(&self) -> bool {
        *self.listening.borrow()
    }

    fn set_listening(&self, on: bool) {
        self.listening.send_replace(on);
    }

    /// How long a waiter may sleep before re-checking on its own: long while notifications
    /// flow, short while the listener is reconnecting.
    pub fn sleep_until(&self, deadline: Instant) -> Instant {
        let cap = if self.is_listening() {
            Duration::from_secs(5)
        } else {
            Duration::from_millis(250)
        };
        deadline.min(Instant::now() + cap)
    }

    fn dispatch(&self, payload: &str) {
        match payload {
            "tasks" => self.tasks.notify_waiters(),
            "control_requests" => self.control.notify_waiters(),
            "events" => self.events.notify_waiters(),
            p if p.starts_with("reply:") => self.replies.notify_waiters(),
            p => {
                if let Some(id) = p.strip_prefix("result:") {
                    let map = self.results.lock().expect("results lock");
                    if let Some((notify, _)) = map.get(id) {
                        notify.notify_waiters();
                    }
                }
            }
        }
    }

    fn wake_all(&self) {
        self.tasks.notify_waiters();
        self.control.notify_waiters();
        self.replies.notify_waiters();
        self.events.notify_waiters();
        for (notify, _) in self.results.lock().expect("results lock").values() {
            notify.notify_waiters();
        }
    }
}

/// Starts the listener; it runs until the returned handle is aborted.
pub(crate) fn spawn(settings: Settings, signals: Arc<Signals>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match listen_once(&settings, &signals).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => tracing::warn!(error = %e, "postgres listener: reconnecting"),
            }
            signals.set_listening(false);
            signals.wake_all();
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    })
}

/// Connects, LISTENs and dispatches until the connection ends.
async fn listen_once(settings: &Settings, signals: &Signals) -> crate::Result<()> {
    let (client, mut connection) = settings.connect().await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            match poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if tx.send(Some(n.payload().to_string())).is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    let _ = tx.send(None);
                    return Err(e);
                }
                None => break,
            }
        }
        let _ = tx.send(None);
        Ok(())
    });
    let listen = client
        .batch_execute(&format!("LISTEN {}", settings.schema))
        .await;
    if let Err(e) = listen {
        driver.abort();
        return Err(super::error::pg("listen", e));
    }
    signals.set_listening(true);
    // Anything published before LISTEN took effect is found by waiters re-checking now.
    signals.wake_all();
    while let Some(Some(payload)) = rx.recv().await {
        signals.dispatch(&payload);
    }
    drop(client);
    match driver.await {
        Ok(Err(e)) => Err(super::error::pg("listen", e)),
        _ => Ok(()),
    }
}
