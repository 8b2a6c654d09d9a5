//! Dead letters on Postgres: their own table keyed by (queue, id), holding each `DeadLetter` as
//! JSON. Moving a delivery in and replaying one out are single statements (a DELETE in a CTE
//! feeding the INSERT), so a task is never in both places or in neither.

use super::broker::{fair_fields, row_fields};
use super::error::corrupt;
use super::PgStore;
use crate::{DeadLetter, Result};
use stem_protocol::TaskEnvelope;

impl PgStore {
    pub(super) async fn list_dead(&self, queue: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query(
                "dead letters",
                include_str!("sql/dead_letters.sql"),
                &[&queue, &limit],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let body: String = row.get("letter");
                crate::codec::decode_letter(&body).map_err(|e| corrupt("dead letters", e))
            })
            .collect()
    }

    pub(super) async fn replay(
        &self,
        queue: &str,
        id: &str,
        envelope: &TaskEnvelope,
    ) -> Result<bool> {
        let (eta, priority, payload) = row_fields(envelope);
        let (key, step) = fair_fields(envelope);
        let rows = self
            .query(
                "replay dead letter",
                include_str!("sql/replay.sql"),
                &[
                    &queue,
                    &id,
                    &envelope.id,
                    &envelope.queue,
                    &priority,
                    &eta,
                    &payload,
                    &envelope.created_at,
                    &key,
                    &step,
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }
}
