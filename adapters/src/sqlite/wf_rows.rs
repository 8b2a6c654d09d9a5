//! Workflow rows on SQLite: runs, steps and waiters read from their tables, and the reads the
//! fenced writes share (a run's fence, a step's state). `seq` and `generation` are u64 kept
//! bit for bit in INTEGER columns and compared here, in Rust, never in SQL.

use super::sql;
use crate::workflow::{RunState, Waiter, WfRun, WfStep};
use crate::Result;
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
use stem_protocol::workflow::{StepKind, StepState};

/// A u64 as stored (the same 64 bits).
pub(super) fn stored(n: u64) -> i64 {
    n as i64
}

/// A u64 as read back.
fn loaded(n: i64) -> u64 {
    n as u64
}

/// Column `i` (a name) parsed by `parse`; an unknown name is a conversion error.
fn named<T>(row: &Row, i: usize, parse: impl Fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let s: String = row.get(i)?;
    parse(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(i, Type::Text, format!("unknown {s:?}").into())
    })
}

/// A run from a `wf_run_select` row.
pub(super) fn run(row: &Row) -> rusqlite::Result<WfRun> {
    Ok(WfRun {
        id: row.get(0)?,
        workflow: row.get(1)?,
        version: row.get(2)?,
        queue: row.get(3)?,
        state: named(row, 4, RunState::parse)?,
        data: row.get(5)?,
        outcome: row.get(6)?,
        seq: loaded(row.get(7)?),
        resume_id: row.get(8)?,
        generation: loaded(row.get(9)?),
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
        suspended_at: row.get(12)?,
        wake_at: row.get(13)?,
        finished_at: row.get(14)?,
    })
}

/// A step from a `wf_step_list` row.
fn step(row: &Row) -> rusqlite::Result<WfStep> {
    Ok(WfStep {
        run: row.get(0)?,
        index: row.get(1)?,
        name: row.get(2)?,
        kind: named(row, 3, StepKind::parse)?,
        state: named(row, 4, StepState::parse)?,
        attempt: row.get(5)?,
        data: row.get(6)?,
        started_at: row.get(7)?,
        updated_at: row.get(8)?,
        finished_at: row.get(9)?,
    })
}

/// A waiter from a `wf_waiters_*` row.
pub(super) fn waiter(row: &Row) -> rusqlite::Result<Waiter> {
    Ok(Waiter {
        topic: row.get(0)?,
        run: row.get(1)?,
        index: row.get(2)?,
        deadline: row.get(3)?,
        since: row.get(4)?,
    })
}

/// One emit target from a `wf_waiter_targets` row: run, step index, workflow, queue, the run's
/// sequence, whether the run is live and its step not final.
pub(super) type Target = (String, u32, String, String, u64, bool);

pub(super) fn target(row: &Row) -> rusqlite::Result<Target> {
    let live = !named(row, 5, RunState::parse)?.is_final();
    let open = !named(row, 6, StepState::parse)?.is_final();
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        loaded(row.get(4)?),
        live && open,
    ))
}

pub(super) fn get_run(conn: &Connection, ns: &str, id: &str) -> Result<Option<WfRun>> {
    Ok(conn
        .prepare_cached(sql::WF_RUN_GET)?
        .query_row(params![ns, id], run)
        .optional()?)
}

pub(super) fn steps(conn: &Connection, ns: &str, id: &str) -> Result<Vec<WfStep>> {
    let mut stmt = conn.prepare_cached(sql::WF_STEP_LIST)?;
    let rows = stmt.query_map(params![ns, id], step)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether run `id` is live and claimed at `generation` (the fence of every resume's write).
pub(super) fn live_claimed(conn: &Connection, ns: &str, id: &str, generation: u64) -> Result<bool> {
    let fence = conn
        .prepare_cached(sql::WF_RUN_FENCE)?
        .query_row(params![ns, id], |r| {
            Ok((named(r, 0, RunState::parse)?, loaded(r.get(1)?)))
        })
        .optional()?;
    Ok(fence.is_some_and(|(state, g)| !state.is_final() && g == generation))
}

/// Whether step `index` of run `id` is stored and final.
pub(super) fn step_final(conn: &Connection, ns: &str, id: &str, index: u32) -> Result<bool> {
    let state = conn
        .prepare_cached(sql::WF_STEP_STATE)?
        .query_row(params![ns, id, index], |r| named(r, 0, StepState::parse))
        .optional()?;
    Ok(state.is_some_and(|s| s.is_final()))
}

pub(super) fn drop_waiters(conn: &Connection, ns: &str, id: &str) -> Result<()> {
    conn.prepare_cached(sql::WF_WAITER_DROP_RUN)?
        .execute(params![ns, id])?;
    Ok(())
}

/// Counts by state, in the states' order.
pub(super) fn counts(conn: &Connection, ns: &str) -> Result<Vec<(RunState, u64)>> {
    let mut stmt = conn.prepare_cached(sql::WF_RUN_COUNTS)?;
    let rows = stmt.query_map([ns], |r| {
        Ok((named(r, 0, RunState::parse)?, loaded(r.get(1)?)))
    })?;
    let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    out.sort_by_key(|(state, _)| *state);
    Ok(out)
}
