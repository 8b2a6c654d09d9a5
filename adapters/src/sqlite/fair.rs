//! Fair dequeue across keys on SQLite (docs/fairness.md): virtual starts for keyed tasks at
//! publish, the per-queue clock a fetch raises, and pruning key state the clock has passed.
//! Unkeyed tasks never reach this module: they are inserted and leased as before fairness.

use super::sql;
use crate::Result;
use rusqlite::{params, Connection, Transaction};
use stem_protocol::envelope::MAX_FAIR_WEIGHT;
use stem_protocol::TaskEnvelope;

/// A task's fairness key and step (1,000,000 / weight, the weight clamped to 1..=100).
pub(super) fn key_and_step(env: &TaskEnvelope) -> Option<(&str, i64)> {
    let key = env.fair_key.as_deref()?;
    let weight = env.fair_weight.unwrap_or(1).clamp(1, MAX_FAIR_WEIGHT);
    Some((key, 1_000_000 / i64::from(weight)))
}

/// The next virtual start of `key` in `queue`: max(its last vt, the queue's clock) + `step`,
/// recorded as the key's last vt.
pub(super) fn assign(
    tx: &Transaction<'_>,
    ns: &str,
    queue: &str,
    key: &str,
    step: i64,
) -> Result<i64> {
    Ok(tx
        .prepare_cached(sql::FAIR_ASSIGN)?
        .query_row(params![ns, queue, key, step], |r| r.get(0))?)
}

/// Raises `queue`'s clock to `vt` (the largest vt a fetch leased) if that is larger.
pub(super) fn raise(tx: &Transaction<'_>, ns: &str, queue: &str, vt: i64) -> Result<()> {
    tx.prepare_cached(sql::FAIR_RAISE)?
        .execute(params![ns, queue, vt])?;
    Ok(())
}

/// Deletes key state at or below its queue's clock (every namespace), from the clean-up.
pub(super) fn prune(conn: &Connection) -> Result<()> {
    conn.prepare_cached(sql::FAIR_PRUNE)?.execute([])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vt_follows_the_key_and_the_clock_and_passed_keys_are_pruned() {
        let mut conn = super::super::db::connect(":memory:").unwrap();
        let tx = conn.transaction().unwrap();
        assert_eq!(assign(&tx, "ns", "q", "a", 1_000_000).unwrap(), 1_000_000);
        assert_eq!(assign(&tx, "ns", "q", "a", 1_000_000).unwrap(), 2_000_000);
        assert_eq!(assign(&tx, "ns", "q", "b", 333_333).unwrap(), 333_333);
        raise(&tx, "ns", "q", 1_500_000).unwrap();
        raise(&tx, "ns", "q", 1_000_000).unwrap();
        // A key idle below the clock starts at the clock: no banked credit.
        assert_eq!(assign(&tx, "ns", "q", "c", 1_000_000).unwrap(), 2_500_000);
        raise(&tx, "ns", "q", 2_000_000).unwrap();
        prune(&tx).unwrap();
        let left: Vec<String> = tx
            .prepare("SELECT key FROM stem_fair_keys ORDER BY key")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(left, ["c"], "a (2,000,000) and b are at or below the clock");
    }
}
