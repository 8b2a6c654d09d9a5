//! `WorkflowStore` for Redis (and Redis Cluster): a hash per run, a hash per run's journal,
//! sorted sets of run ids by creation for listing (all, per state, per workflow, per both; the
//! counts are their sizes), and the waiters of each topic in a sorted set by `since` with a
//! global index. Every key is in the namespace's global slot (see [`keys`](super::keys)), so
//! each change — a claim, a fenced step write, a suspension, an end, an emit, a rewind — is one
//! atomic script (`lua/wf_*.lua`) on one node and on a cluster alike.

use super::wf_fields::{opt, run_fields, run_from, step_fields, steps_from, waiter_from};
use super::{redis_error, scripts, RedisStore};
use crate::workflow::{
    Claim, RunFilter, RunState, Waiter, WfRun, WfStep, Woken, WorkflowStore, RUN_STATES,
};
use crate::{AdapterError, Result};
use async_trait::async_trait;
use redis::{FromRedisValue, ScriptInvocation};

/// A count as a script argument (Redis takes at most an i64).
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl RedisStore {
    /// Runs a workflow script: `prefix` goes first (`ARGV[1]`, which `lua/wf_lib.lua` reads).
    async fn wf_call<T: FromRedisValue>(
        &self,
        what: &str,
        call: &mut ScriptInvocation<'_>,
    ) -> Result<T> {
        call.invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error(what, e))
    }

    fn wf_script<'a>(&self, script: &'a redis::Script, keys: &[String]) -> ScriptInvocation<'a> {
        let mut call = script.prepare_invoke();
        for k in keys {
            call.key(k);
        }
        call.arg(self.keys.wf_prefix());
        call
    }

    /// The run and journal keys of run `id`, the keys of most workflow scripts.
    fn wf_run_keys(&self, id: &str) -> [String; 2] {
        [self.keys.wf_run(id), self.keys.wf_steps(id)]
    }
}

#[async_trait]
impl WorkflowStore for RedisStore {
    async fn wf_start(&self, run: &WfRun) -> Result<(WfRun, bool)> {
        let mut call = self.wf_script(&scripts::WF_START, &[self.keys.wf_run(&run.id)]);
        call.arg(&run.id)
            .arg(&run.workflow)
            .arg(run.state.as_str())
            .arg(run.created_at);
        for (name, value) in run_fields(run) {
            call.arg(name).arg(value);
        }
        let (new, stored): (i64, Vec<String>) = self.wf_call("workflow start", &mut call).await?;
        if new == 1 {
            return Ok((run.clone(), true));
        }
        let stored = run_from(&stored)?.ok_or_else(|| {
            AdapterError::permanent(format!("redis: workflow run {:?} vanished", run.id))
        })?;
        Ok((stored, false))
    }

    async fn wf_get(&self, id: &str) -> Result<Option<WfRun>> {
        let flat: Vec<String> = redis::cmd("HGETALL")
            .arg(self.keys.wf_run(id))
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("workflow run", e))?;
        run_from(&flat)
    }

    async fn wf_steps(&self, id: &str) -> Result<Vec<WfStep>> {
        let flat: Vec<String> = redis::cmd("HGETALL")
            .arg(self.keys.wf_steps(id))
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("workflow steps", e))?;
        steps_from(id, &flat)
    }

    async fn wf_list(&self, filter: &RunFilter) -> Result<Vec<WfRun>> {
        if filter.limit == 0 {
            return Ok(Vec::new());
        }
        let index = self.keys.wf_runs(
            filter.state.as_ref().map(RunState::as_str),
            filter.workflow.as_deref(),
        );
        let mut call = self.wf_script(&scripts::WF_LIST, &[index]);
        call.arg(
            filter
                .before
                .map_or("+inf".to_string(), |b| format!("({b}")),
        )
        .arg(limit(filter.limit));
        let rows: Vec<Vec<String>> = self.wf_call("workflow list", &mut call).await?;
        let mut runs = Vec::with_capacity(rows.len());
        for row in &rows {
            runs.extend(run_from(row)?);
        }
        Ok(runs)
    }

    async fn wf_counts(&self) -> Result<Vec<(RunState, u64)>> {
        let mut pipe = redis::pipe();
        for state in RUN_STATES {
            pipe.zcard(self.keys.wf_runs(Some(state.as_str()), None));
        }
        let sizes: Vec<u64> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("workflow counts", e))?;
        Ok(RUN_STATES
            .into_iter()
            .zip(sizes)
            .filter(|(_, n)| *n > 0)
            .collect())
    }

    async fn wf_claim(
        &self,
        id: &str,
        seq: u64,
        resume_id: &str,
        generation: u64,
        now: i64,
    ) -> Result<Claim> {
        let mut call = self.wf_script(&scripts::WF_CLAIM, &self.wf_run_keys(id));
        call.arg(id)
            .arg(seq)
            .arg(resume_id)
            .arg(generation)
            .arg(now);
        let (verdict, state, run, steps): (String, String, Vec<String>, Vec<String>) =
            self.wf_call("workflow claim", &mut call).await?;
        let state = || {
            RunState::parse(&state).ok_or_else(|| {
                AdapterError::permanent(format!("redis: workflow run {id:?} in state {state:?}"))
            })
        };
        Ok(match verdict.as_str() {
            "unknown" => Claim::Unknown,
            "stale" => Claim::Stale,
            "final" => Claim::Final(state()?),
            _ => Claim::Claimed {
                previous: state()?,
                run: run_from(&run)?.ok_or_else(|| {
                    AdapterError::permanent(format!("redis: workflow run {id:?} vanished"))
                })?,
                steps: steps_from(id, &steps)?,
            },
        })
    }

    async fn wf_write_step(&self, generation: u64, step: &WfStep) -> Result<bool> {
        let mut call = self.wf_script(&scripts::WF_WRITE_STEP, &self.wf_run_keys(&step.run));
        call.arg(&step.run).arg(generation).arg(step.index);
        for (name, value) in step_fields(step) {
            call.arg(name).arg(value);
        }
        let written: i64 = self.wf_call("workflow step", &mut call).await?;
        Ok(written == 1)
    }

    async fn wf_suspend(
        &self,
        id: &str,
        generation: u64,
        wake_at: Option<i64>,
        waiter: Option<&Waiter>,
        now: i64,
    ) -> Result<bool> {
        let mut call = self.wf_script(&scripts::WF_SUSPEND, &self.wf_run_keys(id));
        call.arg(id).arg(generation).arg(opt(wake_at)).arg(now);
        if let Some(w) = waiter {
            call.arg(&w.topic)
                .arg(w.index)
                .arg(w.since)
                .arg(opt(w.deadline));
        }
        let suspended: i64 = self.wf_call("workflow suspend", &mut call).await?;
        Ok(suspended == 1)
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
        let mut call = self.wf_script(&scripts::WF_FINISH, &[self.keys.wf_run(id)]);
        call.arg(id)
            .arg(opt(generation))
            .arg(state.as_str())
            .arg(opt(outcome))
            .arg(now);
        let before: Vec<String> = self.wf_call("workflow finish", &mut call).await?;
        run_from(&before)
    }

    async fn wf_emit(&self, topic: &str, data: &str, now: i64) -> Result<Vec<Woken>> {
        let mut call = self.wf_script(&scripts::WF_EMIT, &[self.keys.wf_topic(topic)]);
        call.arg(topic).arg(data).arg(now);
        let rows: Vec<(String, String, String, u32, u64)> =
            self.wf_call("workflow emit", &mut call).await?;
        Ok(rows
            .into_iter()
            .map(|(run, workflow, queue, index, seq)| Woken {
                run,
                workflow,
                queue,
                index,
                seq: seq + 1,
            })
            .collect())
    }

    async fn wf_rewind(&self, id: &str, index: u32, now: i64) -> Result<Option<WfRun>> {
        let mut call = self.wf_script(&scripts::WF_REWIND, &self.wf_run_keys(id));
        call.arg(id).arg(index).arg(now);
        let after: Vec<String> = self.wf_call("workflow rewind", &mut call).await?;
        run_from(&after)
    }

    async fn wf_waiters(&self, topic: Option<&str>, max: usize) -> Result<Vec<Waiter>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let set = match topic {
            Some(t) => self.keys.wf_topic(t),
            None => self.keys.wf_waiters(),
        };
        let mut call = self.wf_script(&scripts::WF_WAITERS, &[set]);
        call.arg(opt(topic)).arg(limit(max));
        let rows: Vec<Vec<String>> = self.wf_call("workflow waiters", &mut call).await?;
        let mut all = rows
            .iter()
            .map(|row| waiter_from(row))
            .collect::<Result<Vec<_>>>()?;
        all.sort_by(|a, b| (a.since, &a.run, a.index).cmp(&(b.since, &b.run, b.index)));
        all.truncate(max);
        Ok(all)
    }
}
