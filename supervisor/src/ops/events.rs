//! The task event stream (received, started, progress, retried, succeeded, failed, revoked):
//! read the oldest kept events a page at a time, or follow the stream as events arrive.

use super::OpsResult;
use std::time::Duration;
use stem_adapters::{Adapters, TaskEvent};

/// The most events one read asks for.
pub const MAX_PAGE: usize = 1000;

/// How long one read of a followed stream waits for the first new event.
const FOLLOW_WAIT: Duration = Duration::from_secs(5);

/// The cursor of the stream's start.
const OLDEST: &str = "0";

/// A position in the event stream, read page by page.
pub struct EventFeed<'a> {
    adapters: &'a Adapters,
    /// `None`: only events from now on.
    cursor: Option<String>,
    page: usize,
    wait: Duration,
}

impl<'a> EventFeed<'a> {
    /// Reads from the oldest kept event, returning at once when there are none.
    pub fn from_start(adapters: &'a Adapters, page: usize) -> Self {
        EventFeed {
            adapters,
            cursor: Some(OLDEST.into()),
            page: page.min(MAX_PAGE),
            wait: Duration::ZERO,
        }
    }

    /// Follows the stream, from the oldest kept event or only new ones; each page waits a few
    /// seconds for an event (an empty page means none came yet, not the end).
    pub fn follow(adapters: &'a Adapters, from_start: bool, page: usize) -> Self {
        EventFeed {
            adapters,
            cursor: from_start.then(|| OLDEST.into()),
            page: page.min(MAX_PAGE),
            wait: FOLLOW_WAIT,
        }
    }

    /// The next events after the cursor, which moves past them.
    pub async fn next_page(&mut self) -> OpsResult<Vec<TaskEvent>> {
        let (events, next) = self
            .adapters
            .control
            .events(self.cursor.as_deref(), self.page, self.wait)
            .await?;
        self.cursor = Some(next);
        Ok(events)
    }
}

/// The oldest kept events, in pages of `limit` (at most [`MAX_PAGE`]) until the stream ends or
/// `limit` is reached; a limit above [`MAX_PAGE`] is reached in whole pages, so the last page
/// may take the total past it.
pub async fn read(adapters: &Adapters, limit: usize) -> OpsResult<Vec<TaskEvent>> {
    let mut feed = EventFeed::from_start(adapters, limit);
    let mut events = Vec::new();
    loop {
        let page = feed.next_page().await?;
        let end = page.is_empty();
        events.extend(page);
        if end || events.len() >= limit {
            return Ok(events);
        }
    }
}

/// The newest `limit` kept events, oldest first: the stream is read through, keeping the last
/// `limit` (the stream is capped, so this ends).
pub async fn newest(adapters: &Adapters, limit: usize) -> OpsResult<Vec<TaskEvent>> {
    let mut feed = EventFeed::from_start(adapters, MAX_PAGE);
    let mut kept = std::collections::VecDeque::with_capacity(limit.min(MAX_PAGE));
    loop {
        let page = feed.next_page().await?;
        if page.is_empty() || limit == 0 {
            return Ok(kept.into_iter().collect());
        }
        for e in page {
            if kept.len() == limit {
                kept.pop_front();
            }
            kept.push_back(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::memory;
    use stem_protocol::now_ms;
    use tokio::time::timeout;

    fn event(n: usize) -> TaskEvent {
        TaskEvent {
            kind: "received".into(),
            task_id: format!("t{n}"),
            name: "t".into(),
            queue: "default".into(),
            worker: "w".into(),
            at: now_ms(),
            data: serde_json::Value::Null,
            sealed: None,
        }
    }

    #[tokio::test]
    async fn read_pages_through_the_kept_events() {
        let adapters = memory("events-read").await;
        let sent: Vec<TaskEvent> = (0..5).map(event).collect();
        adapters.control.emit(&sent).await.expect("emit");
        assert_eq!(read(&adapters, 100).await.expect("read"), sent);
        assert_eq!(read(&adapters, 2).await.expect("read").len(), 2);
    }

    #[tokio::test]
    async fn newest_keeps_the_last_events_in_order() {
        let adapters = memory("events-newest").await;
        let sent: Vec<TaskEvent> = (0..7).map(event).collect();
        adapters.control.emit(&sent).await.expect("emit");
        let ids: Vec<String> = newest(&adapters, 3)
            .await
            .expect("read")
            .into_iter()
            .map(|e| e.task_id)
            .collect();
        assert_eq!(ids, ["t4", "t5", "t6"]);
        assert_eq!(newest(&adapters, 100).await.expect("read"), sent);
    }

    #[tokio::test]
    async fn following_moves_past_what_it_read() {
        let adapters = memory("events-follow").await;
        adapters.control.emit(&[event(0)]).await.expect("emit");
        let mut feed = EventFeed::follow(&adapters, true, 10);
        let ids = |page: Vec<TaskEvent>| page.into_iter().map(|e| e.task_id).collect::<Vec<_>>();
        assert_eq!(ids(feed.next_page().await.expect("page")), ["t0"]);
        let emitter = adapters.clone();
        tokio::spawn(async move { emitter.control.emit(&[event(1)]).await.expect("emit") });
        let next = timeout(Duration::from_secs(20), async {
            loop {
                let page = feed.next_page().await.expect("page");
                if !page.is_empty() {
                    return page;
                }
            }
        })
        .await
        .expect("the new event within 20s");
        assert_eq!(ids(next), ["t1"]);
    }
}
