//! The broker's blocking steps on one connection: publish, the leasing fetch and extend (the
//! commit is in `commit.rs`). Each runs in one transaction; leasing uses `BEGIN IMMEDIATE` so
//! two processes on one file never lease the same row.

use super::wait::Attempt;
use super::{clock, fair, sql};
use crate::{codec, Delivery, Result};
use rusqlite::{params, Connection, Transaction, TransactionBehavior};
use std::cmp::Reverse;
use stem_protocol::TaskEnvelope;

const READY: i64 = 0;
const DELAYED: i64 = 1;
const LEASED: i64 = 2;

pub(super) fn immediate(conn: &mut Connection) -> Result<Transaction<'_>> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

fn new_token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Splits a `ROWID:TOKEN` receipt; `None` for anything else (which then matches nothing).
pub(super) fn parse_receipt(receipt: &str) -> Option<(i64, &str)> {
    let (id, token) = receipt.split_once(':')?;
    Some((id.parse().ok()?, token))
}

/// A fairness key and the task's virtual start.
pub(super) type Fair = Option<(String, i64)>;

/// Inserts one task row, ready now or delayed until `visible_at` when that is in the future;
/// a keyed one (`fair`) with its key and virtual start, an unkeyed one as before fairness.
#[allow(clippy::too_many_arguments)]
pub(super) fn insert_task(
    tx: &Transaction<'_>,
    ns: &str,
    queue: &str,
    priority: i64,
    visible_at: i64,
    payload: &str,
    now: i64,
    fair: Fair,
) -> Result<()> {
    let state = if visible_at > now { DELAYED } else { READY };
    tx.prepare_cached(sql::QUEUE_SEEN)?
        .execute(params![ns, queue])?;
    match fair {
        None => tx
            .prepare_cached(sql::TASK_INSERT)?
            .execute(params![ns, queue, priority, state, visible_at, payload])?,
        Some((key, vt)) => tx.prepare_cached(sql::TASK_INSERT_FAIR)?.execute(params![
            ns, queue, priority, state, visible_at, payload, key, vt
        ])?,
    };
    Ok(())
}

pub(super) fn insert_envelope(
    tx: &Transaction<'_>,
    ns: &str,
    env: &TaskEnvelope,
    now: i64,
) -> Result<()> {
    let visible_at = env.eta.unwrap_or(0);
    let priority = i64::from(env.priority);
    let fair = match fair::key_and_step(env) {
        Some((key, step)) => Some((
            key.to_string(),
            fair::assign(tx, ns, &env.queue, key, step)?,
        )),
        None => None,
    };
    insert_task(
        tx,
        ns,
        &env.queue,
        priority,
        visible_at,
        &codec::encode_envelope(env),
        now,
        fair,
    )
}

pub(super) fn publish(conn: &mut Connection, ns: &str, tasks: &[TaskEnvelope]) -> Result<()> {
    let tx = immediate(conn)?;
    let now = clock::advance(&tx)?;
    for env in tasks {
        insert_envelope(&tx, ns, env, now)?;
    }
    tx.commit()?;
    Ok(())
}

/// A row the leasing statement returned.
struct Leased {
    id: i64,
    priority: i64,
    deliveries: u32,
    payload: String,
    keyed: bool,
    vt: i64,
}

/// One leasing try: promotes due rows, leases up to `max`, and when nothing was ready says when
/// the next delayed task or lease falls due.
pub(super) fn fetch(
    conn: &mut Connection,
    ns: &str,
    queues: &[String],
    max: usize,
    lease_ms: i64,
    consumer: &str,
) -> Result<Attempt<Vec<Delivery>>> {
    let token = new_token();
    let tx = immediate(conn)?;
    // Read, not advanced: a try that finds nothing writes nothing (a write would wake every
    // other process's waiters, and theirs this one).
    let now = clock::now(&tx)?;
    let mut out = Vec::new();
    for queue in queues {
        if out.len() >= max {
            break;
        }
        tx.prepare_cached(sql::TASK_PROMOTE)?
            .execute(params![ns, queue, now])?;
        let left = (max - out.len()) as i64;
        let mut rows = tx
            .prepare_cached(sql::TASK_LEASE)?
            .query_map(
                params![ns, queue, left, token, consumer, now + lease_ms],
                |r| {
                    Ok(Leased {
                        id: r.get(0)?,
                        priority: r.get(1)?,
                        deliveries: r.get(2)?,
                        payload: r.get(3)?,
                        keyed: r.get::<_, Option<String>>(4)?.is_some(),
                        vt: r.get(5)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<Leased>>>()?;
        rows.sort_by_key(|r| (Reverse(r.priority), r.vt, r.id));
        if let Some(vt) = rows.iter().filter(|r| r.keyed).map(|r| r.vt).max() {
            fair::raise(&tx, ns, queue, vt)?;
        }
        out.extend(rows.into_iter().map(|r| Delivery {
            receipt: format!("{}:{token}", r.id),
            queue: queue.clone(),
            deliveries: r.deliveries,
            generation: 0,
            payload: codec::decode_payload(r.payload),
        }));
    }
    if !out.is_empty() {
        // The clock advanced, and a generation larger than any lease of this file had before.
        let (_, generation) = clock::lease_generation(&tx)?;
        for d in &mut out {
            d.generation = generation;
        }
    }
    let mut wake_at = None;
    if out.is_empty() {
        let mut next_due = tx.prepare_cached(sql::TASK_NEXT_DUE)?;
        for queue in queues {
            for state in [DELAYED, LEASED] {
                let due: Option<i64> =
                    next_due.query_row(params![ns, queue, state], |r| r.get(0))?;
                wake_at = match (wake_at, due) {
                    (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                    (a, b) => a.or(b),
                };
            }
        }
    }
    tx.commit()?;
    Ok(Attempt {
        value: (!out.is_empty()).then_some(out),
        wake_at: wake_at.map(|due| Attempt::<()>::in_ms(due - now)),
    })
}

/// Extends leases; returns the receipts that no longer hold one.
pub(super) fn extend(
    conn: &mut Connection,
    deliveries: &[Delivery],
    lease_ms: i64,
) -> Result<Vec<String>> {
    let tx = immediate(conn)?;
    let until = clock::advance(&tx)? + lease_ms;
    let mut lost = Vec::new();
    {
        let mut stmt = tx.prepare_cached(sql::TASK_EXTEND)?;
        for d in deliveries {
            let held = match parse_receipt(&d.receipt) {
                Some((id, token)) => stmt.execute(params![id, token, until])? > 0,
                None => false,
            };
            if !held {
                lost.push(d.receipt.clone());
            }
        }
    }
    tx.commit()?;
    Ok(lost)
}

/// A leased row taken out: its queue, priority, payload and fairness key and virtual start.
pub(super) type Taken = (String, i64, String, Fair);

/// Deletes the leased row of `delivery` if its receipt still holds the lease; returns it.
pub(super) fn take(tx: &Transaction<'_>, delivery: &Delivery) -> Result<Option<Taken>> {
    let Some((id, token)) = parse_receipt(&delivery.receipt) else {
        return Ok(None);
    };
    let mut stmt = tx.prepare_cached(sql::TASK_TAKE)?;
    let mut rows = stmt.query(params![id, token])?;
    match rows.next()? {
        Some(row) => {
            let fair = row
                .get::<_, Option<String>>(3)?
                .map(|key| Ok::<_, rusqlite::Error>((key, row.get(4)?)))
                .transpose()?;
            Ok(Some((row.get(0)?, row.get(1)?, row.get(2)?, fair)))
        }
        None => Ok(None),
    }
}
