//! Rows of the workflow tables (migration 9) read back as `WfRun`, `WfStep` and `Waiter`, and
//! the unsigned numbers of the trait turned into `bigint` parameters (refused when they do not
//! fit, never wrapped: a wrapped generation would compare wrong).

use super::error;
use crate::workflow::{RunState, Waiter, WfRun, WfStep};
use crate::Result;
use stem_protocol::workflow::{StepKind, StepState};
use tokio_postgres::Row;

/// A `u64` (sequence, generation) as a `bigint` parameter.
pub(super) fn big(what: &str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| error::corrupt(what, format!("{value} is out of range")))
}

/// A stored `bigint` that must be a non-negative number of type `T`.
pub(super) fn unsigned<T: TryFrom<i64>>(row: &Row, column: &str) -> Result<T> {
    let value: i64 = row.get(column);
    T::try_from(value).map_err(|_| error::corrupt("workflows", format!("{column} = {value}")))
}

pub(super) fn run_state(what: &str, text: &str) -> Result<RunState> {
    RunState::parse(text).ok_or_else(|| error::corrupt(what, format!("run state {text:?}")))
}

pub(super) fn run(row: &Row) -> Result<WfRun> {
    Ok(WfRun {
        id: row.get("id"),
        workflow: row.get("workflow"),
        version: unsigned(row, "version")?,
        queue: row.get("queue"),
        state: run_state("workflow run", row.get("state"))?,
        data: row.get("data"),
        outcome: row.get("outcome"),
        seq: unsigned(row, "seq")?,
        resume_id: row.get("resume_id"),
        generation: unsigned(row, "generation")?,
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        suspended_at: row.get("suspended_at"),
        wake_at: row.get("wake_at"),
        finished_at: row.get("finished_at"),
    })
}

pub(super) fn step(row: &Row) -> Result<WfStep> {
    let kind: &str = row.get("kind");
    let state: &str = row.get("state");
    Ok(WfStep {
        run: row.get("run"),
        index: unsigned(row, "idx")?,
        name: row.get("name"),
        kind: StepKind::parse(kind)
            .ok_or_else(|| error::corrupt("workflow step", format!("kind {kind:?}")))?,
        state: StepState::parse(state)
            .ok_or_else(|| error::corrupt("workflow step", format!("state {state:?}")))?,
        attempt: unsigned(row, "attempt")?,
        data: row.get("data"),
        started_at: row.get("started_at"),
        updated_at: row.get("updated_at"),
        finished_at: row.get("finished_at"),
    })
}

pub(super) fn waiter(row: &Row) -> Result<Waiter> {
    Ok(Waiter {
        topic: row.get("topic"),
        run: row.get("run"),
        index: unsigned(row, "idx")?,
        deadline: row.get("deadline"),
        since: row.get("since"),
    })
}
