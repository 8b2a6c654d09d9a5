//! The envelopes a workflow publishes: a run's resumes (a timer, an emit's wake-up, a first
//! start, a rewind) and the nudge that a called task or a child run sends its waiting parent
//! when it ends (a resume with sequence 0, claimed whatever the parent's sequence).

use super::data::Parent;
use std::collections::BTreeMap;
use stem_adapters::Commit;
use stem_protocol::workflow::{
    task_name, PARENT_HEADER, PARENT_QUEUE_HEADER, PARENT_TASK_HEADER, RESUME_HEADER, RUN_HEADER,
};
use stem_protocol::TaskEnvelope;

/// A resume of `run` (of `workflow`, on `queue`) with sequence `seq`, due at `eta`. Its id is
/// new for each resume and kept by its redeliveries and retries.
pub fn resume(
    run: &str,
    workflow: &str,
    queue: &str,
    seq: u64,
    eta: Option<i64>,
    headers: &BTreeMap<String, String>,
) -> TaskEnvelope {
    let mut env = TaskEnvelope::new(task_name(workflow));
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    env.id = format!("{run}.r{seq}.{}", &nonce[..8]);
    env.queue = queue.to_string();
    env.eta = eta;
    env.headers = headers.clone();
    env.headers.insert(RUN_HEADER.into(), run.to_string());
    env.headers.insert(RESUME_HEADER.into(), seq.to_string());
    env
}

/// The headers that make a task (or a child run's end) nudge `parent`.
pub fn parent_headers(parent: &Parent) -> BTreeMap<String, String> {
    BTreeMap::from([
        (PARENT_HEADER.to_string(), parent.run.clone()),
        (PARENT_QUEUE_HEADER.to_string(), parent.queue.clone()),
        (PARENT_TASK_HEADER.to_string(), task_name(&parent.workflow)),
    ])
}

/// The nudge resuming `parent`.
pub fn nudge(parent: &Parent, headers: &BTreeMap<String, String>) -> TaskEnvelope {
    resume(
        &parent.run,
        &parent.workflow,
        &parent.queue,
        0,
        None,
        headers,
    )
}

/// A called task's final commit also nudges the run waiting for it (published only if the
/// commit applies, like a canvas follow-up).
pub fn add_parent_nudge(commit: &mut Commit) {
    let Some(env) = commit.delivery.task() else {
        return;
    };
    let Some(record) = &commit.record else {
        return;
    };
    if !record.state.is_terminal() {
        return;
    }
    let (Some(run), Some(queue), Some(task)) = (
        env.headers.get(PARENT_HEADER),
        env.headers.get(PARENT_QUEUE_HEADER),
        env.headers.get(PARENT_TASK_HEADER),
    ) else {
        return;
    };
    let Some(workflow) = stem_protocol::workflow::workflow_of(task) else {
        return;
    };
    let parent = Parent {
        run: run.clone(),
        index: 0,
        queue: queue.clone(),
        workflow: workflow.to_string(),
    };
    let trace = env
        .headers
        .iter()
        .filter(|(k, _)| k.as_str() == stem_protocol::trace::HEADER)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    commit.follow_ups.push(nudge(&parent, &trace));
}
