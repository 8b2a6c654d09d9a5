//! The SQLite commit: a batch of outcomes in one `BEGIN IMMEDIATE` transaction. Each commit
//! first takes its leased row (only if the receipt's token still holds it); a stale one changes
//! nothing. A held one then writes its record (when this file is also the result backend),
//! applies its action (ack, release as a new row, dead letter) and publishes its follow-ups.
//! Records are written fenced by generation, also outside commits (progress, `started`).

use super::lease::{immediate, insert_envelope, insert_task, parse_receipt, take};
use super::{clock, sql};
use crate::{codec, Action, Commit, Result, Verdict};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use stem_protocol::TaskRecord;

pub(super) fn commit(
    conn: &mut Connection,
    ns: &str,
    commits: &[Commit],
    keep: Option<i64>,
) -> Result<Vec<Verdict>> {
    let tx = immediate(conn)?;
    let now = clock::advance(&tx)?;
    let expires = keep.map(|ms| now.saturating_add(ms));
    let mut out = Vec::with_capacity(commits.len());
    for c in commits {
        let d = &c.delivery;
        let Some((queue, priority, raw, fair)) = take(&tx, d)? else {
            out.push(Verdict::Stale {
                owner: owner_of(&tx, &d.receipt)?,
            });
            continue;
        };
        if let (Some(expires), Some(record)) = (expires, &c.record) {
            write_record(&tx, ns, record, expires, now)?;
        }
        match &c.action {
            Action::Ack => {}
            Action::Release { replacement, delay } => {
                let (queue, priority, raw) = match replacement {
                    Some(env) => (
                        env.queue.clone(),
                        i64::from(env.priority),
                        codec::encode_envelope(env),
                    ),
                    None => (queue, priority, raw),
                };
                let at = now.saturating_add(delay.as_millis().min(i64::MAX as u128) as i64);
                // The released task keeps its fairness key and virtual start: its turn.
                insert_task(&tx, ns, &queue, priority, at, &raw, now, fair)?;
            }
            Action::DeadLetter(letter) => {
                let mut letter = (**letter).clone();
                letter.queue = d.queue.clone();
                let body = codec::encode_letter(&letter)?;
                tx.prepare_cached(sql::DEAD_INSERT)?.execute(params![
                    ns,
                    letter.queue,
                    letter.id,
                    letter.dead_at,
                    body
                ])?;
            }
        }
        for env in &c.follow_ups {
            insert_envelope(&tx, ns, env, now)?;
        }
        out.push(Verdict::Applied);
    }
    tx.commit()?;
    Ok(out)
}

/// Writes `record` unless a newer generation's record is there; true when written.
pub(super) fn write_record(
    tx: &Transaction<'_>,
    ns: &str,
    record: &TaskRecord,
    expires: i64,
    now: i64,
) -> Result<bool> {
    let changed = tx.prepare_cached(sql::RESULT_SET)?.execute(params![
        ns,
        record.id,
        record.state.as_str(),
        codec::encode_record(record),
        expires,
        now,
        record.generation as i64,
    ])?;
    Ok(changed > 0)
}

fn owner_of(tx: &Transaction<'_>, receipt: &str) -> Result<Option<String>> {
    let Some((id, _)) = parse_receipt(receipt) else {
        return Ok(None);
    };
    Ok(tx
        .prepare_cached(sql::TASK_OWNER)?
        .query_row(params![id], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}
