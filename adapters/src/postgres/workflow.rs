//! The `WorkflowStore` on Postgres: tables `wf_runs`, `wf_steps`, `wf_waiters` (migration 9).
//! Every operation is one statement, so no transaction outlives a round trip: claims, step
//! writes and emits are single statements (`sql/wf_*.sql`) that lock the run's row first and
//! decide on its latest version; suspend, finish and rewind call server-side functions that lock
//! the run, then read its steps and waiters afresh (see the migration for the discipline).

use super::wf_rows::{self, big, unsigned};
use super::PgStore;
use crate::workflow::{Claim, RunFilter, RunState, Waiter, WfRun, WfStep, Woken, WorkflowStore};
use crate::Result;
use async_trait::async_trait;

/// How often a start asks again when a concurrent start of the same id hid the stored run.
const START_ATTEMPTS: usize = 5;

fn row_limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl WorkflowStore for PgStore {
    async fn wf_start(&self, run: &WfRun) -> Result<(WfRun, bool)> {
        let (version, seq) = (i64::from(run.version), big("start run", run.seq)?);
        let generation = big("start run", run.generation)?;
        for _ in 0..START_ATTEMPTS {
            let rows = self
                .query(
                    "start run",
                    include_str!("sql/wf_start.sql"),
                    &[
                        &run.id,
                        &run.workflow,
                        &version,
                        &run.queue,
                        &run.state.as_str(),
                        &run.data,
                        &run.outcome,
                        &seq,
                        &run.resume_id,
                        &generation,
                        &run.created_at,
                        &run.updated_at,
                        &run.suspended_at,
                        &run.wake_at,
                        &run.finished_at,
                    ],
                )
                .await?;
            if let Some(row) = rows.first() {
                return Ok((wf_rows::run(row)?, row.get("new")));
            }
        }
        Err(crate::AdapterError::transient(format!(
            "postgres start run: run {} neither inserted nor found",
            run.id
        )))
    }

    async fn wf_get(&self, id: &str) -> Result<Option<WfRun>> {
        let rows = self
            .query("get run", include_str!("sql/wf_get.sql"), &[&id])
            .await?;
        rows.first().map(wf_rows::run).transpose()
    }

    async fn wf_steps(&self, id: &str) -> Result<Vec<WfStep>> {
        let rows = self
            .query("run steps", include_str!("sql/wf_steps.sql"), &[&id])
            .await?;
        rows.iter().map(wf_rows::step).collect()
    }

    async fn wf_list(&self, filter: &RunFilter) -> Result<Vec<WfRun>> {
        let state = filter.state.map(|s| s.as_str());
        let rows = self
            .query(
                "list runs",
                include_str!("sql/wf_list.sql"),
                &[
                    &state,
                    &filter.workflow,
                    &filter.before,
                    &row_limit(filter.limit),
                ],
            )
            .await?;
        rows.iter().map(wf_rows::run).collect()
    }

    async fn wf_counts(&self) -> Result<Vec<(RunState, u64)>> {
        let rows = self
            .query("count runs", include_str!("sql/wf_counts.sql"), &[])
            .await?;
        let mut counts = rows
            .iter()
            .map(|row| {
                Ok((
                    wf_rows::run_state("count runs", row.get("state"))?,
                    unsigned(row, "n")?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        counts.sort();
        Ok(counts)
    }

    async fn wf_claim(
        &self,
        id: &str,
        seq: u64,
        resume_id: &str,
        generation: u64,
        now: i64,
    ) -> Result<Claim> {
        let params = (big("claim run", seq)?, big("claim run", generation)?);
        let rows = self
            .query(
                "claim run",
                include_str!("sql/wf_claim.sql"),
                &[&id, &params.0, &resume_id, &params.1, &now],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(Claim::Unknown);
        };
        let previous = wf_rows::run_state("claim run", row.get("previous"))?;
        if row.get::<_, Option<String>>("id").is_none() {
            return Ok(if previous.is_final() {
                Claim::Final(previous)
            } else {
                Claim::Stale
            });
        }
        let run = wf_rows::run(row)?;
        // Read after the claim: every fenced write of an older resume has committed or is
        // refused by now, so the journal is complete.
        let steps = self.wf_steps(id).await?;
        Ok(Claim::Claimed {
            run,
            previous,
            steps,
        })
    }

    async fn wf_write_step(&self, generation: u64, step: &WfStep) -> Result<bool> {
        let rows = self
            .query(
                "write step",
                include_str!("sql/wf_write_step.sql"),
                &[
                    &step.run,
                    &big("write step", generation)?,
                    &i64::from(step.index),
                    &step.name,
                    &step.kind.as_str(),
                    &step.state.as_str(),
                    &i64::from(step.attempt),
                    &step.data,
                    &step.started_at,
                    &step.updated_at,
                    &step.finished_at,
                ],
            )
            .await?;
        Ok(rows.first().is_some_and(|r| r.get::<_, i64>("written") > 0))
    }

    async fn wf_suspend(
        &self,
        id: &str,
        generation: u64,
        wake_at: Option<i64>,
        waiter: Option<&Waiter>,
        now: i64,
    ) -> Result<bool> {
        let topic = waiter.map(|w| w.topic.as_str());
        let index = waiter.map(|w| i64::from(w.index));
        let deadline = waiter.and_then(|w| w.deadline);
        let since = waiter.map(|w| w.since);
        let rows = self
            .query(
                "suspend run",
                include_str!("sql/wf_suspend.sql"),
                &[
                    &id,
                    &big("suspend run", generation)?,
                    &wake_at,
                    &topic,
                    &index,
                    &deadline,
                    &since,
                    &now,
                ],
            )
            .await?;
        Ok(rows.first().is_some_and(|r| r.get::<_, bool>("suspended")))
    }

    async fn wf_finish(
        &self,
        id: &str,
        generation: Option<u64>,
        state: RunState,
        outcome: Option<&str>,
        now: i64,
    ) -> Result<Option<WfRun>> {
        if !state.is_final() {
            return Ok(None);
        }
        let generation = generation.map(|g| big("finish run", g)).transpose()?;
        let rows = self
            .query(
                "finish run",
                include_str!("sql/wf_finish.sql"),
                &[&id, &generation, &state.as_str(), &outcome, &now],
            )
            .await?;
        rows.first().map(wf_rows::run).transpose()
    }

    async fn wf_emit(&self, topic: &str, data: &str, now: i64) -> Result<Vec<Woken>> {
        let rows = self
            .query(
                "emit",
                include_str!("sql/wf_emit.sql"),
                &[&topic, &data, &now],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Woken {
                    run: row.get("run"),
                    workflow: row.get("workflow"),
                    queue: row.get("queue"),
                    index: unsigned(row, "idx")?,
                    seq: unsigned(row, "seq")?,
                })
            })
            .collect()
    }

    async fn wf_rewind(&self, id: &str, index: u32, now: i64) -> Result<Option<WfRun>> {
        let rows = self
            .query(
                "rewind run",
                include_str!("sql/wf_rewind.sql"),
                &[&id, &i64::from(index), &now],
            )
            .await?;
        rows.first().map(wf_rows::run).transpose()
    }

    async fn wf_waiters(&self, topic: Option<&str>, limit: usize) -> Result<Vec<Waiter>> {
        let rows = self
            .query(
                "list waiters",
                include_str!("sql/wf_waiters.sql"),
                &[&topic, &row_limit(limit)],
            )
            .await?;
        rows.iter().map(wf_rows::waiter).collect()
    }
}
