//! The workflow store's changes on SQLite, each one `BEGIN IMMEDIATE` transaction: the run's
//! fence (or claim rule) is read and the change written under the file's write lock, so
//! claimers, resumes and emitters on several connections or processes take turns.

use super::lease::immediate;
use super::sql;
use super::wf_rows::{self, stored};
use crate::workflow::{Claim, RunFilter, RunState, Waiter, WfRun, WfStep, Woken};
use crate::{AdapterError, Result};
use rusqlite::types::ToSql;
use rusqlite::{params, Connection};

/// The rules of `wf_claim`: refused unless `generation` is above the run's and `seq` is not
/// below it (equal only for the envelope that holds it); a nudge (`seq == 0`) needs only the
/// generation.
fn claim_refused(run: &WfRun, seq: u64, resume_id: &str, generation: u64) -> bool {
    if generation <= run.generation {
        return true;
    }
    if seq == 0 {
        return false;
    }
    seq < run.seq || (seq == run.seq && run.resume_id.as_deref() != Some(resume_id))
}

pub(super) fn start(conn: &mut Connection, ns: &str, run: &WfRun) -> Result<(WfRun, bool)> {
    let tx = immediate(conn)?;
    let added = tx.prepare_cached(sql::WF_RUN_INSERT)?.execute(params![
        ns,
        run.id,
        run.workflow,
        run.version,
        run.queue,
        run.state.as_str(),
        run.data,
        run.outcome,
        stored(run.seq),
        run.resume_id,
        stored(run.generation),
        run.created_at,
        run.updated_at,
        run.suspended_at,
        run.wake_at,
        run.finished_at
    ])? > 0;
    let out = if added {
        (run.clone(), true)
    } else {
        // The insert met a row inside this transaction; runs are never deleted.
        let existing = wf_rows::get_run(&tx, ns, &run.id)?.ok_or_else(|| {
            AdapterError::transient(format!("run {} vanished while starting it", run.id))
        })?;
        (existing, false)
    };
    tx.commit()?;
    Ok(out)
}

pub(super) fn list(conn: &Connection, ns: &str, filter: &RunFilter) -> Result<Vec<WfRun>> {
    let state = filter.state.map(|s| s.as_str());
    let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
    let mut query = sql::WF_RUN_SELECT.to_string();
    let mut args: Vec<&dyn ToSql> = vec![&ns];
    if let Some(state) = &state {
        args.push(state);
        query += &format!("AND state = ?{} ", args.len());
    }
    if let Some(workflow) = &filter.workflow {
        args.push(workflow);
        query += &format!("AND workflow = ?{} ", args.len());
    }
    if let Some(before) = &filter.before {
        args.push(before);
        query += &format!("AND created_at < ?{} ", args.len());
    }
    args.push(&limit);
    query += &format!("ORDER BY created_at DESC, id DESC LIMIT ?{}", args.len());
    let mut stmt = conn.prepare_cached(&query)?;
    let rows = stmt.query_map(args.as_slice(), wf_rows::run)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn claim(
    conn: &mut Connection,
    ns: &str,
    id: &str,
    (seq, resume_id, generation): (u64, &str, u64),
    now: i64,
) -> Result<Claim> {
    let tx = immediate(conn)?;
    let Some(mut run) = wf_rows::get_run(&tx, ns, id)? else {
        return Ok(Claim::Unknown);
    };
    if run.state.is_final() {
        return Ok(Claim::Final(run.state));
    }
    if claim_refused(&run, seq, resume_id, generation) {
        return Ok(Claim::Stale);
    }
    let previous = run.state;
    run.seq = if seq == 0 { run.seq + 1 } else { seq };
    run.resume_id = Some(resume_id.to_string());
    run.generation = generation;
    run.state = RunState::Running;
    run.wake_at = None;
    run.updated_at = now;
    tx.prepare_cached(sql::WF_RUN_CLAIM)?.execute(params![
        ns,
        id,
        stored(run.seq),
        resume_id,
        stored(generation),
        now
    ])?;
    let steps = wf_rows::steps(&tx, ns, id)?;
    tx.commit()?;
    Ok(Claim::Claimed {
        run,
        previous,
        steps,
    })
}

pub(super) fn write_step(
    conn: &mut Connection,
    ns: &str,
    generation: u64,
    step: &WfStep,
) -> Result<bool> {
    let tx = immediate(conn)?;
    if !wf_rows::live_claimed(&tx, ns, &step.run, generation)?
        || wf_rows::step_final(&tx, ns, &step.run, step.index)?
    {
        return Ok(false);
    }
    tx.prepare_cached(sql::WF_STEP_PUT)?.execute(params![
        ns,
        step.run,
        step.index,
        step.name,
        step.kind.as_str(),
        step.state.as_str(),
        step.attempt,
        step.data,
        step.started_at,
        step.updated_at,
        step.finished_at
    ])?;
    if step.state.is_final() {
        tx.prepare_cached(sql::WF_WAITER_DROP_STEP)?
            .execute(params![ns, step.run, step.index])?;
    }
    tx.commit()?;
    Ok(true)
}

pub(super) fn suspend(
    conn: &mut Connection,
    ns: &str,
    (id, generation): (&str, u64),
    wake_at: Option<i64>,
    waiter: Option<&Waiter>,
    now: i64,
) -> Result<bool> {
    let tx = immediate(conn)?;
    if !wf_rows::live_claimed(&tx, ns, id, generation)? {
        return Ok(false);
    }
    if let Some(w) = waiter {
        if !wf_rows::step_final(&tx, ns, id, w.index)? {
            tx.prepare_cached(sql::WF_WAITER_PUT)?
                .execute(params![ns, w.topic, id, w.index, w.deadline, w.since])?;
        }
    }
    tx.prepare_cached(sql::WF_RUN_SUSPEND)?
        .execute(params![ns, id, now, wake_at])?;
    tx.commit()?;
    Ok(true)
}

pub(super) fn finish(
    conn: &mut Connection,
    ns: &str,
    (id, generation): (&str, Option<u64>),
    state: RunState,
    outcome: Option<&str>,
    now: i64,
) -> Result<Option<WfRun>> {
    let tx = immediate(conn)?;
    let Some(before) = wf_rows::get_run(&tx, ns, id)? else {
        return Ok(None);
    };
    if before.state.is_final()
        || !state.is_final()
        || generation.is_some_and(|g| g != before.generation)
    {
        return Ok(None);
    }
    tx.prepare_cached(sql::WF_RUN_FINISH)?.execute(params![
        ns,
        id,
        state.as_str(),
        outcome,
        now
    ])?;
    wf_rows::drop_waiters(&tx, ns, id)?;
    tx.commit()?;
    Ok(Some(before))
}

pub(super) fn emit(
    conn: &mut Connection,
    ns: &str,
    topic: &str,
    data: &str,
    now: i64,
) -> Result<Vec<Woken>> {
    let tx = immediate(conn)?;
    let targets = {
        let mut stmt = tx.prepare_cached(sql::WF_WAITER_TARGETS)?;
        let rows = stmt.query_map(params![ns, topic], wf_rows::target)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let mut woken = Vec::new();
    for (run, index, workflow, queue, seq, open) in targets {
        if !open {
            continue;
        }
        tx.prepare_cached(sql::WF_STEP_EVENT)?
            .execute(params![ns, run, index, data, now])?;
        woken.push(Woken {
            run,
            workflow,
            queue,
            index,
            seq: seq + 1,
        });
    }
    tx.prepare_cached(sql::WF_WAITER_DROP_TOPIC)?
        .execute(params![ns, topic])?;
    tx.commit()?;
    Ok(woken)
}

pub(super) fn rewind(
    conn: &mut Connection,
    ns: &str,
    id: &str,
    index: u32,
    now: i64,
) -> Result<Option<WfRun>> {
    let tx = immediate(conn)?;
    let Some(mut run) = wf_rows::get_run(&tx, ns, id)? else {
        return Ok(None);
    };
    run.state = RunState::Suspended;
    run.outcome = None;
    run.finished_at = None;
    run.wake_at = None;
    run.generation += 1;
    run.suspended_at = Some(now);
    run.updated_at = now;
    tx.prepare_cached(sql::WF_RUN_REWIND)?
        .execute(params![ns, id, stored(run.generation), now])?;
    tx.prepare_cached(sql::WF_STEP_TRIM)?
        .execute(params![ns, id, index])?;
    wf_rows::drop_waiters(&tx, ns, id)?;
    tx.commit()?;
    Ok(Some(run))
}

pub(super) fn waiters(
    conn: &Connection,
    ns: &str,
    topic: Option<&str>,
    limit: usize,
) -> Result<Vec<Waiter>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match topic {
        Some(topic) => conn
            .prepare_cached(sql::WF_WAITERS_TOPIC)?
            .query_map(params![ns, topic, limit], wf_rows::waiter)?
            .collect::<rusqlite::Result<_>>(),
        None => conn
            .prepare_cached(sql::WF_WAITERS_ALL)?
            .query_map(params![ns, limit], wf_rows::waiter)?
            .collect::<rusqlite::Result<_>>(),
    };
    Ok(rows?)
}
