//! The in-memory `ControlPlane`: bounded lists of requests, replies and events, and a map of the
//! latest heartbeat per worker. Event cursors are sequence numbers written as decimal strings.

use super::state::{MAX_EVENTS, MAX_REPLIES, MAX_REQUESTS};
use super::MemoryStore;
use crate::{
    AdapterError, ControlPlane, ControlReply, ControlRequest, Heartbeat, Result, TaskEvent,
};
use async_trait::async_trait;
use std::time::Duration;
use stem_protocol::now_ms;

fn parse_cursor(cursor: &str) -> Result<u64> {
    cursor.parse().map_err(|_| {
        AdapterError::permanent(format!(
            "invalid event cursor {cursor:?}: expected a number returned by events()"
        ))
    })
}

#[async_trait]
impl ControlPlane for MemoryStore {
    async fn send(&self, request: &ControlRequest) -> Result<()> {
        self.change(|state, _| {
            state.requests.push_back(request.clone());
            while state.requests.len() > MAX_REQUESTS {
                state.requests.pop_front();
            }
        });
        Ok(())
    }

    async fn requests(
        &self,
        worker: &str,
        since: i64,
        wait: Duration,
    ) -> Result<Vec<ControlRequest>> {
        let got = self
            .wait_for(wait, |state, _| {
                let mut found: Vec<ControlRequest> = state
                    .requests
                    .iter()
                    .filter(|r| r.sent_at > since)
                    .filter(|r| r.target.is_none() || r.target.as_deref() == Some(worker))
                    .cloned()
                    .collect();
                found.sort_by_key(|r| r.sent_at);
                ((!found.is_empty()).then_some(found), None)
            })
            .await;
        Ok(got.unwrap_or_default())
    }

    async fn reply(&self, reply: &ControlReply) -> Result<()> {
        self.change(|state, _| {
            state.replies.push_back(reply.clone());
            while state.replies.len() > MAX_REPLIES {
                state.replies.pop_front();
            }
        });
        Ok(())
    }

    async fn replies(
        &self,
        request_id: &str,
        expect: Option<usize>,
        timeout: Duration,
    ) -> Result<Vec<ControlReply>> {
        let gather = |state: &super::state::State| -> Vec<ControlReply> {
            state
                .replies
                .iter()
                .filter(|r| r.request_id == request_id)
                .cloned()
                .collect()
        };
        let enough = self
            .wait_for(timeout, |state, _| {
                let found = gather(state);
                let done = expect.is_some_and(|n| found.len() >= n);
                (done.then_some(found), None)
            })
            .await;
        Ok(enough.unwrap_or_else(|| gather(&self.lock())))
    }

    async fn heartbeat(&self, heartbeat: &Heartbeat, ttl: Duration) -> Result<()> {
        self.change(|state, now| {
            let expires = now.saturating_add(ttl.as_millis().min(i64::MAX as u128) as i64);
            state.heartbeats.retain(|_, (_, exp)| *exp > now);
            state
                .heartbeats
                .insert(heartbeat.worker.clone(), (heartbeat.clone(), expires));
        });
        Ok(())
    }

    async fn workers(&self) -> Result<Vec<Heartbeat>> {
        let now = now_ms();
        let mut found: Vec<Heartbeat> = self
            .lock()
            .heartbeats
            .values()
            .filter(|(_, exp)| *exp > now)
            .map(|(h, _)| h.clone())
            .collect();
        found.sort_by(|a, b| a.worker.cmp(&b.worker));
        Ok(found)
    }

    async fn emit(&self, events: &[TaskEvent]) -> Result<()> {
        self.change(|state, _| {
            for event in events {
                state.last_event += 1;
                let seq = state.last_event;
                state.events.push_back((seq, event.clone()));
            }
            while state.events.len() > MAX_EVENTS {
                state.events.pop_front();
            }
        });
        Ok(())
    }

    async fn events(
        &self,
        cursor: Option<&str>,
        limit: usize,
        wait: Duration,
    ) -> Result<(Vec<TaskEvent>, String)> {
        let after = match cursor {
            Some(c) => parse_cursor(c)?,
            None => self.lock().last_event,
        };
        let got = self
            .wait_for(wait, |state, _| {
                let found: Vec<(u64, TaskEvent)> = state
                    .events
                    .iter()
                    .filter(|(seq, _)| *seq > after)
                    .take(limit)
                    .cloned()
                    .collect();
                ((!found.is_empty()).then_some(found), None)
            })
            .await
            .unwrap_or_default();
        let next = got.last().map_or(after, |(seq, _)| *seq);
        Ok((got.into_iter().map(|(_, e)| e).collect(), next.to_string()))
    }
}
