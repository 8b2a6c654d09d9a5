//! The SQLite `WorkflowStore`: tables `stem_wf_runs`, `stem_wf_steps` and `stem_wf_waiters`
//! (see `schema.sql`); reads run on the store's connection as they are, every change is one
//! `BEGIN IMMEDIATE` transaction (`wf_ops.rs`), so claims, fenced writes, emits and rewinds are
//! atomic across every connection and process on the file.

use super::{wf_ops, wf_rows, SqliteStore};
use crate::workflow::{Claim, RunFilter, RunState, Waiter, WfRun, WfStep, Woken, WorkflowStore};
use crate::Result;
use async_trait::async_trait;

#[async_trait]
impl WorkflowStore for SqliteStore {
    async fn wf_start(&self, run: &WfRun) -> Result<(WfRun, bool)> {
        let run = run.clone();
        self.write(move |conn, ns| wf_ops::start(conn, ns, &run))
            .await
    }

    async fn wf_get(&self, id: &str) -> Result<Option<WfRun>> {
        let id = id.to_string();
        self.run(move |conn, ns| wf_rows::get_run(conn, ns, &id))
            .await
    }

    async fn wf_steps(&self, id: &str) -> Result<Vec<WfStep>> {
        let id = id.to_string();
        self.run(move |conn, ns| wf_rows::steps(conn, ns, &id))
            .await
    }

    async fn wf_list(&self, filter: &RunFilter) -> Result<Vec<WfRun>> {
        let filter = filter.clone();
        self.run(move |conn, ns| wf_ops::list(conn, ns, &filter))
            .await
    }

    async fn wf_counts(&self) -> Result<Vec<(RunState, u64)>> {
        self.run(|conn, ns| wf_rows::counts(conn, ns)).await
    }

    async fn wf_claim(
        &self,
        id: &str,
        seq: u64,
        resume_id: &str,
        generation: u64,
        now: i64,
    ) -> Result<Claim> {
        let (id, resume_id) = (id.to_string(), resume_id.to_string());
        self.write(move |conn, ns| wf_ops::claim(conn, ns, &id, (seq, &resume_id, generation), now))
            .await
    }

    async fn wf_write_step(&self, generation: u64, step: &WfStep) -> Result<bool> {
        let step = step.clone();
        self.write(move |conn, ns| wf_ops::write_step(conn, ns, generation, &step))
            .await
    }

    async fn wf_suspend(
        &self,
        id: &str,
        generation: u64,
        wake_at: Option<i64>,
        waiter: Option<&Waiter>,
        now: i64,
    ) -> Result<bool> {
        let (id, waiter) = (id.to_string(), waiter.cloned());
        self.write(move |conn, ns| {
            wf_ops::suspend(conn, ns, (&id, generation), wake_at, waiter.as_ref(), now)
        })
        .await
    }

    async fn wf_finish(
        &self,
        id: &str,
        generation: Option<u64>,
        state: RunState,
        outcome: Option<&str>,
        now: i64,
    ) -> Result<Option<WfRun>> {
        let (id, outcome) = (id.to_string(), outcome.map(str::to_string));
        self.write(move |conn, ns| {
            wf_ops::finish(conn, ns, (&id, generation), state, outcome.as_deref(), now)
        })
        .await
    }

    async fn wf_emit(&self, topic: &str, data: &str, now: i64) -> Result<Vec<Woken>> {
        let (topic, data) = (topic.to_string(), data.to_string());
        self.write(move |conn, ns| wf_ops::emit(conn, ns, &topic, &data, now))
            .await
    }

    async fn wf_rewind(&self, id: &str, index: u32, now: i64) -> Result<Option<WfRun>> {
        let id = id.to_string();
        self.write(move |conn, ns| wf_ops::rewind(conn, ns, &id, index, now))
            .await
    }

    async fn wf_waiters(&self, topic: Option<&str>, limit: usize) -> Result<Vec<Waiter>> {
        let topic = topic.map(str::to_string);
        self.run(move |conn, ns| wf_ops::waiters(conn, ns, topic.as_deref(), limit))
            .await
    }
}
