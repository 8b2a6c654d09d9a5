//! `GET /v1/events`: the task event stream as Server-Sent Events, one `event:` per task event
//! (its kind) with the event as JSON `data:`. Each client has one reader task following the
//! stream ([`crate::ops::events::EventFeed`]) into a small channel; it stops as soon as the
//! client goes away. A store outage is sent as an `error` event and the reader tries again.

use super::error::ApiError;
use super::params::only;
use super::AppState;
use crate::ops::events::EventFeed;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::mpsc;

/// Events buffered per client before the reader waits for the client to catch up.
const BUFFER: usize = 256;
/// Events read per page.
const PAGE: usize = 100;
/// The pause after a failed read before the next.
const RETRY: Duration = Duration::from_secs(1);

pub async fn stream(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    only(&params, &["from_start"])?;
    let from_start = match params.get("from_start").map(String::as_str) {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("from_start: expected true or false, got {other:?}"),
            ))
        }
    };
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(read(state, from_start, tx));
    let events =
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Follows the event stream into `tx` until the client is gone.
async fn read(state: AppState, from_start: bool, tx: mpsc::Sender<Event>) {
    let mut feed = EventFeed::follow(&state.adapters, from_start, PAGE);
    loop {
        let page = tokio::select! {
            _ = tx.closed() => return,
            page = feed.next_page() => page,
        };
        let events = match page {
            Ok(events) => events,
            Err(e) => {
                let sent = tx.send(Event::default().event("error").data(e.to_string()));
                if sent.await.is_err() {
                    return;
                }
                tokio::select! {
                    _ = tx.closed() => return,
                    _ = tokio::time::sleep(RETRY) => continue,
                }
            }
        };
        for e in events {
            let data = serde_json::to_string(&e).unwrap_or_default();
            if tx
                .send(Event::default().event(e.kind.clone()).data(data))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}
