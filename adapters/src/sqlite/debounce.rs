//! Debounce bursts on SQLite (`stem_flow_debounce`, one row per burst): each put and take is one
//! `BEGIN IMMEDIATE` transaction on the file's clock, so producers and workers take turns.

use super::{clock, ms};
use crate::debounce::{due_of, joins, take_step, Burst, DebouncePut, DebounceTake, KEEP_TAKEN};
use crate::Result;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::time::Duration;

fn burst(
    tx: &Transaction<'_>,
    ns: &str,
    where_: &str,
    value: &str,
) -> Result<Option<(String, Burst)>> {
    let sql = format!(
        "SELECT id, key, payload, due, first_at, open, taken_at FROM stem_flow_debounce \
         WHERE ns = ?1 AND {where_}"
    );
    Ok(tx
        .prepare_cached(&sql)?
        .query_row(params![ns, value], |r| {
            Ok((
                r.get(0)?,
                Burst {
                    key: r.get(1)?,
                    payload: r.get(2)?,
                    due: r.get(3)?,
                    first_at: r.get(4)?,
                    open: r.get::<_, i64>(5)? == 1,
                    taken_at: r.get(6)?,
                },
            ))
        })
        .optional()?)
}

fn save(tx: &Transaction<'_>, ns: &str, id: &str, b: &Burst) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO stem_flow_debounce \
         (ns, id, key, payload, due, first_at, open, taken_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        ns,
        id,
        b.key,
        b.payload,
        b.due,
        b.first_at,
        i64::from(b.open),
        b.taken_at
    ])?;
    Ok(())
}

pub(super) fn put(
    conn: &mut Connection,
    ns: &str,
    (key, id, payload): (&str, &str, &str),
    window: Duration,
    max_wait: Option<Duration>,
) -> Result<DebouncePut> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = clock::advance(&tx)?;
    let answer = match burst(&tx, ns, "key = ?2 AND open = 1", key)? {
        Some((run, mut b)) if joins(&b, now) => {
            b.payload = payload.into();
            b.due = due_of(now, b.first_at, window, max_wait);
            save(&tx, ns, &run, &b)?;
            DebouncePut {
                id: run,
                due: b.due,
                first: false,
            }
        }
        open => {
            if let Some((run, b)) = open {
                save(&tx, ns, &run, &Burst { open: false, ..b })?;
            }
            tx.prepare_cached(
                "DELETE FROM stem_flow_debounce WHERE ns = ?1 AND open = 0 \
                 AND taken_at > 0 AND taken_at < ?2",
            )?
            .execute(params![ns, now.saturating_sub(ms(KEEP_TAKEN))])?;
            let b = Burst {
                key: key.into(),
                payload: payload.into(),
                due: due_of(now, now, window, max_wait),
                first_at: now,
                open: true,
                taken_at: 0,
            };
            save(&tx, ns, id, &b)?;
            DebouncePut {
                id: id.into(),
                due: b.due,
                first: true,
            }
        }
    };
    tx.commit()?;
    Ok(answer)
}

pub(super) fn take(conn: &mut Connection, ns: &str, key: &str, id: &str) -> Result<DebounceTake> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = clock::advance(&tx)?;
    let Some((_, b)) = burst(&tx, ns, "id = ?2", id)?.filter(|(_, b)| b.key == key) else {
        return Ok(DebounceTake::Gone);
    };
    let (answer, after) = take_step(&b, now);
    if let Some(after) = after {
        save(&tx, ns, id, &after)?;
    }
    tx.commit()?;
    Ok(answer)
}

pub(super) fn done(conn: &mut Connection, ns: &str, key: &str, id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM stem_flow_debounce WHERE ns = ?1 AND id = ?2 AND key = ?3")?
        .execute(params![ns, id, key])?;
    Ok(())
}
