//! Dead letters in their own table: listing, replay (remove and publish in one transaction)
//! and purge; plus the queue sizes and names that read across both tables, and a look at the
//! tasks a queue holds.

use super::clock;
use super::lease::insert_envelope;
use super::sql;
use crate::{codec, AdapterError, DeadLetter, Held, Peeked, QueueCounts, Result};
use rusqlite::{params, Connection, TransactionBehavior};
use stem_protocol::TaskEnvelope;

pub(super) fn list(
    conn: &mut Connection,
    ns: &str,
    queue: &str,
    limit: usize,
) -> Result<Vec<DeadLetter>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(sql::DEAD_LIST)?;
    let rows = stmt.query_map(params![ns, queue, limit], |r| r.get::<_, String>(0))?;
    let mut letters = Vec::new();
    for body in rows {
        let body = body?;
        let letter = crate::codec::decode_letter(&body)
            .map_err(|e| AdapterError::permanent(format!("in queue {queue:?}: {e}")))?;
        letters.push(letter);
    }
    Ok(letters)
}

pub(super) fn replay(
    conn: &mut Connection,
    ns: &str,
    queue: &str,
    id: &str,
    envelope: &TaskEnvelope,
) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let removed = tx
        .prepare_cached(sql::DEAD_TAKE)?
        .execute(params![ns, queue, id])?;
    if removed == 0 {
        return Ok(false);
    }
    let now = clock::advance(&tx)?;
    insert_envelope(&tx, ns, envelope, now)?;
    tx.commit()?;
    Ok(true)
}

pub(super) fn purge(conn: &mut Connection, ns: &str, queue: &str) -> Result<u64> {
    let removed = conn
        .prepare_cached(sql::DEAD_PURGE)?
        .execute(params![ns, queue])?;
    Ok(removed as u64)
}

pub(super) fn counts(conn: &mut Connection, ns: &str, queue: &str) -> Result<QueueCounts> {
    // One read transaction, so the task and dead-letter counts agree with each other.
    let tx = conn.transaction()?;
    let (ready, delayed, leased) = tx.prepare_cached(sql::TASK_COUNTS)?.query_row(
        params![ns, queue, clock::now(&tx)?],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )?;
    let dead: i64 = tx
        .prepare_cached(sql::DEAD_COUNT)?
        .query_row(params![ns, queue], |r| r.get(0))?;
    tx.commit()?;
    Ok(QueueCounts {
        ready: ready as u64,
        delayed: delayed as u64,
        leased: leased as u64,
        dead: dead as u64,
    })
}

/// `BrokerAdmin::peek`: the tasks of `queue` in one state, in the order they will move.
pub(super) fn peek(
    conn: &mut Connection,
    ns: &str,
    queue: &str,
    state: Held,
    limit: usize,
) -> Result<Vec<Peeked>> {
    let code = match state {
        Held::Waiting => 0,
        Held::Delayed => 1,
        Held::Leased => 2,
    };
    let now = clock::now(conn)?;
    let mut stmt = conn.prepare_cached(sql::TASK_PEEK)?;
    let rows = stmt.query_map(
        params![ns, queue, now, code, limit.min(i64::MAX as usize) as i64],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, i64>(3)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (payload, visible_at, owner, deliveries) = row?;
        out.push(Peeked {
            payload: codec::decode_payload(payload),
            at: (state != Held::Waiting).then_some(visible_at),
            owner: owner.filter(|_| state == Held::Leased),
            deliveries: deliveries.max(0) as u32,
        });
    }
    Ok(out)
}

pub(super) fn queues(conn: &mut Connection, ns: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql::QUEUE_LIST)?;
    let names = stmt
        .query_map(params![ns], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(names)
}
