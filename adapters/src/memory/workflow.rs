//! The in-memory `WorkflowStore`: runs by id, each run's journal by step index, and waiters by
//! topic — every operation one critical section, which makes claims, fenced writes and emits
//! atomic. The reference the other backends' contract cases are held to.

use super::MemoryStore;
use crate::workflow::{Claim, RunFilter, RunState, Waiter, WfRun, WfStep, Woken, WorkflowStore};
use crate::Result;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use stem_protocol::workflow::StepState;

#[derive(Default)]
pub(super) struct Workflows {
    runs: HashMap<String, WfRun>,
    steps: HashMap<String, BTreeMap<u32, WfStep>>,
    /// By topic, then (run, step index).
    waiters: BTreeMap<String, BTreeMap<(String, u32), Waiter>>,
}

impl Workflows {
    fn drop_waiters(&mut self, run: &str, index: Option<u32>) {
        for list in self.waiters.values_mut() {
            list.retain(|(r, i), _| !(r == run && index.is_none_or(|x| x == *i)));
        }
        self.waiters.retain(|_, list| !list.is_empty());
    }

    fn live_claimed(&self, id: &str, generation: u64) -> bool {
        self.runs
            .get(id)
            .is_some_and(|r| !r.state.is_final() && r.generation == generation)
    }
}

/// A claim's verdict from the run as stored (shared with the other backends' tests in spirit:
/// the rules of `wf_claim`).
fn claim_refused(run: &WfRun, seq: u64, resume_id: &str, generation: u64) -> bool {
    if generation <= run.generation {
        return true;
    }
    if seq == 0 {
        return false;
    }
    seq < run.seq || (seq == run.seq && run.resume_id.as_deref() != Some(resume_id))
}

#[async_trait]
impl WorkflowStore for MemoryStore {
    async fn wf_start(&self, run: &WfRun) -> Result<(WfRun, bool)> {
        Ok(self.change(|state, _| {
            let wf = &mut state.workflows;
            if let Some(existing) = wf.runs.get(&run.id) {
                return (existing.clone(), false);
            }
            wf.runs.insert(run.id.clone(), run.clone());
            (run.clone(), true)
        }))
    }

    async fn wf_get(&self, id: &str) -> Result<Option<WfRun>> {
        Ok(self.lock().workflows.runs.get(id).cloned())
    }

    async fn wf_steps(&self, id: &str) -> Result<Vec<WfStep>> {
        let state = self.lock();
        Ok(state
            .workflows
            .steps
            .get(id)
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn wf_list(&self, filter: &RunFilter) -> Result<Vec<WfRun>> {
        let state = self.lock();
        let mut runs: Vec<WfRun> = state
            .workflows
            .runs
            .values()
            .filter(|r| filter.state.is_none_or(|s| r.state == s))
            .filter(|r| filter.workflow.as_ref().is_none_or(|w| &r.workflow == w))
            .filter(|r| filter.before.is_none_or(|b| r.created_at < b))
            .cloned()
            .collect();
        runs.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        runs.truncate(filter.limit);
        Ok(runs)
    }

    async fn wf_counts(&self) -> Result<Vec<(RunState, u64)>> {
        let state = self.lock();
        let mut counts: BTreeMap<RunState, u64> = BTreeMap::new();
        for r in state.workflows.runs.values() {
            *counts.entry(r.state).or_default() += 1;
        }
        Ok(counts.into_iter().collect())
    }

    async fn wf_claim(
        &self,
        id: &str,
        seq: u64,
        resume_id: &str,
        generation: u64,
        now: i64,
    ) -> Result<Claim> {
        Ok(self.change(|state, _| {
            let wf = &mut state.workflows;
            let Some(run) = wf.runs.get_mut(id) else {
                return Claim::Unknown;
            };
            if run.state.is_final() {
                return Claim::Final(run.state);
            }
            if claim_refused(run, seq, resume_id, generation) {
                return Claim::Stale;
            }
            let previous = run.state;
            run.seq = if seq == 0 { run.seq + 1 } else { seq };
            run.resume_id = Some(resume_id.to_string());
            run.generation = generation;
            run.state = RunState::Running;
            run.wake_at = None;
            run.updated_at = now;
            let run = run.clone();
            let steps = wf
                .steps
                .get(id)
                .map(|s| s.values().cloned().collect())
                .unwrap_or_default();
            Claim::Claimed {
                run,
                previous,
                steps,
            }
        }))
    }

    async fn wf_write_step(&self, generation: u64, step: &WfStep) -> Result<bool> {
        Ok(self.change(|state, _| {
            let wf = &mut state.workflows;
            if !wf.live_claimed(&step.run, generation) {
                return false;
            }
            let journal = wf.steps.entry(step.run.clone()).or_default();
            if journal.get(&step.index).is_some_and(|s| s.state.is_final()) {
                return false;
            }
            journal.insert(step.index, step.clone());
            if step.state.is_final() {
                wf.drop_waiters(&step.run, Some(step.index));
            }
            true
        }))
    }

    async fn wf_suspend(
        &self,
        id: &str,
        generation: u64,
        wake_at: Option<i64>,
        waiter: Option<&Waiter>,
        now: i64,
    ) -> Result<bool> {
        Ok(self.change(|state, _| {
            let wf = &mut state.workflows;
            if !wf.live_claimed(id, generation) {
                return false;
            }
            if let Some(w) = waiter {
                let done = wf
                    .steps
                    .get(id)
                    .and_then(|s| s.get(&w.index))
                    .is_some_and(|s| s.state.is_final());
                if !done {
                    wf.waiters
                        .entry(w.topic.clone())
                        .or_default()
                        .insert((id.to_string(), w.index), w.clone());
                }
            }
            let run = wf.runs.get_mut(id).expect("checked above");
            run.state = RunState::Suspended;
            run.suspended_at = Some(now);
            run.wake_at = wake_at;
            run.updated_at = now;
            true
        }))
    }

    async fn wf_finish(
        &self,
        id: &str,
        generation: Option<u64>,
        state: RunState,
        outcome: Option<&str>,
        now: i64,
    ) -> Result<Option<WfRun>> {
        Ok(self.change(|st, _| {
            let wf = &mut st.workflows;
            let run = wf.runs.get_mut(id)?;
            if run.state.is_final() || !state.is_final() {
                return None;
            }
            if generation.is_some_and(|g| g != run.generation) {
                return None;
            }
            let before = run.clone();
            run.state = state;
            run.outcome = outcome.map(str::to_string);
            run.finished_at = Some(now);
            run.wake_at = None;
            run.updated_at = now;
            wf.drop_waiters(id, None);
            Some(before)
        }))
    }

    async fn wf_emit(&self, topic: &str, data: &str, now: i64) -> Result<Vec<Woken>> {
        Ok(self.change(|state, _| {
            let wf = &mut state.workflows;
            let Some(list) = wf.waiters.remove(topic) else {
                return Vec::new();
            };
            let mut woken = Vec::new();
            for ((run_id, index), _) in list {
                let Some(run) = wf.runs.get(&run_id) else {
                    continue;
                };
                if run.state.is_final() {
                    continue;
                }
                let Some(step) = wf.steps.get_mut(&run_id).and_then(|s| s.get_mut(&index)) else {
                    continue;
                };
                if step.state.is_final() {
                    continue;
                }
                step.state = StepState::Done;
                step.data = Some(data.to_string());
                step.updated_at = now;
                step.finished_at = Some(now);
                woken.push(Woken {
                    run: run_id.clone(),
                    workflow: run.workflow.clone(),
                    queue: run.queue.clone(),
                    index,
                    seq: run.seq + 1,
                });
            }
            woken
        }))
    }

    async fn wf_rewind(&self, id: &str, index: u32, now: i64) -> Result<Option<WfRun>> {
        Ok(self.change(|state, _| {
            let wf = &mut state.workflows;
            let run = wf.runs.get_mut(id)?;
            run.state = RunState::Suspended;
            run.outcome = None;
            run.finished_at = None;
            run.wake_at = None;
            run.generation += 1;
            run.suspended_at = Some(now);
            run.updated_at = now;
            let after = run.clone();
            if let Some(journal) = wf.steps.get_mut(id) {
                journal.retain(|i, _| *i < index);
            }
            wf.drop_waiters(id, None);
            Some(after)
        }))
    }

    async fn wf_waiters(&self, topic: Option<&str>, limit: usize) -> Result<Vec<Waiter>> {
        let state = self.lock();
        let mut all: Vec<Waiter> = state
            .workflows
            .waiters
            .iter()
            .filter(|(t, _)| topic.is_none_or(|x| x == t.as_str()))
            .flat_map(|(_, list)| list.values().cloned())
            .collect();
        all.sort_by(|a, b| (a.since, &a.run, a.index).cmp(&(b.since, &b.run, b.index)));
        all.truncate(limit);
        Ok(all)
    }
}
