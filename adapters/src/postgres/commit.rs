//! Recording outcomes and acknowledging their deliveries in one transaction, for when the
//! broker and the result backend are the same Postgres store: a crash between the two can then
//! neither lose a result nor run a recorded task again. The traits have no such call yet, so
//! this is an inherent method on `PgStore`; the supervisor records, then acks, otherwise.

use super::backend::ResultRows;
use super::broker::receipts;
use super::error::{pg, pool};
use super::PgStore;
use crate::{Delivery, Result};
use std::time::Duration;
use stem_protocol::TaskRecord;

impl PgStore {
    /// Upserts `records` (kept for `ttl`) and acks `deliveries`, committing both or neither.
    /// A delivery whose lease was lost is not acked (as with `ack`); its record is still written.
    pub async fn record_and_ack(
        &self,
        records: &[TaskRecord],
        ttl: Duration,
        deliveries: &[Delivery],
    ) -> Result<()> {
        let what = "record and ack";
        let (ids, tokens) = receipts(deliveries)?;
        let rows = ResultRows::new(records, ttl);
        let mut client = self.pool.get().await.map_err(|e| pool(what, e))?;
        let tx = client.transaction().await.map_err(|e| pg(what, e))?;
        if !records.is_empty() {
            let set = tx
                .prepare_cached(include_str!("sql/set_results.sql"))
                .await
                .map_err(|e| pg(what, e))?;
            tx.execute(&set, &rows.params())
                .await
                .map_err(|e| pg(what, e))?;
        }
        if !ids.is_empty() {
            let ack = tx
                .prepare_cached(include_str!("sql/ack.sql"))
                .await
                .map_err(|e| pg(what, e))?;
            tx.execute(&ack, &[&ids, &tokens])
                .await
                .map_err(|e| pg(what, e))?;
        }
        tx.commit().await.map_err(|e| pg(what, e))
    }
}
