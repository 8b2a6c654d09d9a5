//! The sqlite `WorkflowStore`: not written yet — every call says so.

use super::SqliteStore;
use crate::workflow::{Claim, RunFilter, RunState, Waiter, WfRun, WfStep, Woken, WorkflowStore};
use crate::{AdapterError, Result};
use async_trait::async_trait;

fn missing<T>() -> Result<T> {
    Err(AdapterError::permanent(
        "durable workflows are not available on this backend yet",
    ))
}

#[async_trait]
impl WorkflowStore for SqliteStore {
    async fn wf_start(&self, _run: &WfRun) -> Result<(WfRun, bool)> {
        missing()
    }
    async fn wf_get(&self, _id: &str) -> Result<Option<WfRun>> {
        missing()
    }
    async fn wf_steps(&self, _id: &str) -> Result<Vec<WfStep>> {
        missing()
    }
    async fn wf_list(&self, _filter: &RunFilter) -> Result<Vec<WfRun>> {
        missing()
    }
    async fn wf_counts(&self) -> Result<Vec<(RunState, u64)>> {
        missing()
    }
    async fn wf_claim(
        &self,
        _id: &str,
        _seq: u64,
        _resume_id: &str,
        _generation: u64,
        _now: i64,
    ) -> Result<Claim> {
        missing()
    }
    async fn wf_write_step(&self, _generation: u64, _step: &WfStep) -> Result<bool> {
        missing()
    }
    async fn wf_suspend(
        &self,
        _id: &str,
        _generation: u64,
        _wake_at: Option<i64>,
        _waiter: Option<&Waiter>,
        _now: i64,
    ) -> Result<bool> {
        missing()
    }
    async fn wf_finish(
        &self,
        _id: &str,
        _generation: Option<u64>,
        _state: RunState,
        _outcome: Option<&str>,
        _now: i64,
    ) -> Result<Option<WfRun>> {
        missing()
    }
    async fn wf_emit(&self, _topic: &str, _data: &str, _now: i64) -> Result<Vec<Woken>> {
        missing()
    }
    async fn wf_rewind(&self, _id: &str, _index: u32, _now: i64) -> Result<Option<WfRun>> {
        missing()
    }
    async fn wf_waiters(&self, _topic: Option<&str>, _limit: usize) -> Result<Vec<Waiter>> {
        missing()
    }
}
