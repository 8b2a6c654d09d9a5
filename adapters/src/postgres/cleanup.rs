//! The periodic clean-up: every minute, deletes expired results, revocations, heartbeats,
//! beat claims, unique locks and slots (and buckets idle for an hour), control messages older than an hour, fairness keys at or below their queue's clock, and events beyond the newest
//! `KEEP_EVENTS`. Reads
//! already ignore expired rows, so this only bounds the tables; errors are logged and retried
//! on the next round.

use super::error;
use crate::Result;
use deadpool_postgres::Pool;
use std::time::Duration;
use stem_protocol::now_ms;

/// How many events the stream keeps.
pub(super) const KEEP_EVENTS: i64 = 10_000;
const EVERY: Duration = Duration::from_secs(60);
const CONTROL_TTL: Duration = Duration::from_secs(3600);

pub(super) fn spawn(pool: Pool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = clean(&pool).await {
                tracing::warn!(error = %e, "postgres clean-up failed; retrying next round");
            }
        }
    })
}

async fn clean(pool: &Pool) -> Result<()> {
    let client = pool.get().await.map_err(|e| error::pool("clean-up", e))?;
    let now = now_ms();
    let control_before = now - CONTROL_TTL.as_millis() as i64;
    let steps: [(&str, &str, i64); 8] = [
        ("flow control", include_str!("sql/cleanup_flow.sql"), now),
        ("beat claims", include_str!("sql/cleanup_claims.sql"), now),
        ("results", include_str!("sql/cleanup_results.sql"), now),
        ("groups", include_str!("sql/cleanup_groups.sql"), now),
        (
            "revocations",
            include_str!("sql/cleanup_revocations.sql"),
            now,
        ),
        (
            "heartbeats",
            include_str!("sql/cleanup_heartbeats.sql"),
            now,
        ),
        (
            "control",
            include_str!("sql/cleanup_control.sql"),
            control_before,
        ),
        ("events", include_str!("sql/trim_events.sql"), KEEP_EVENTS),
    ];
    for (what, sql, arg) in steps {
        client
            .execute(sql, &[&arg])
            .await
            .map_err(|e| super::error::pg(&format!("clean-up {what}"), e))?;
    }
    client
        .execute(include_str!("sql/cleanup_fair.sql"), &[])
        .await
        .map_err(|e| super::error::pg("clean-up fairness keys", e))?;
    Ok(())
}
