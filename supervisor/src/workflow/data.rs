//! What a workflow store's payloads hold, and their conversions: a run's arguments (with its
//! parent and trace headers), a final run's outcome, a step's data (result or error, and what
//! it waits for), and a stored step as the journal entry a child sees. Every payload goes
//! through the codec (`encode_wf` / `decode_wf`), sealed and signed as configured.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use stem_adapters::codec::{self, Owner};
use stem_adapters::workflow::{WfRun, WfStep};
use stem_protocol::workflow::{JournalEntry, StepKind, StepState};
use stem_protocol::TaskError;

/// The run a step of another run is waiting for (a child run's parent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parent {
    pub run: String,
    pub index: u32,
    pub queue: String,
    pub workflow: String,
}

/// A run's arguments as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    #[serde(default)]
    pub args: Vec<Value>,
    #[serde(default)]
    pub kwargs: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Parent>,
    /// Headers every resume carries (the run's trace).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// A final run's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
}

/// A step's data as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn from_value<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("unreadable {what}: {e}"))
}

pub fn encode_run(run: &str, data: &RunData) -> String {
    codec::encode_wf(&Owner::Run(run), &to_value(data))
}

pub fn decode_run(run: &WfRun) -> Result<RunData, String> {
    let v = codec::decode_wf(&Owner::Run(&run.id), &run.data).map_err(|e| e.to_string())?;
    from_value("run arguments", v)
}

pub fn encode_outcome(run: &str, outcome: &Outcome) -> String {
    codec::encode_wf(&Owner::Outcome(run), &to_value(outcome))
}

/// A final run's outcome (none stored: an empty one).
pub fn decode_outcome(run: &WfRun) -> Result<Outcome, String> {
    let Some(raw) = &run.outcome else {
        return Ok(Outcome::default());
    };
    let v = codec::decode_wf(&Owner::Outcome(&run.id), raw).map_err(|e| e.to_string())?;
    from_value("run outcome", v)
}

pub fn encode_step(run: &str, index: u32, data: &StepData) -> String {
    codec::encode_wf(&Owner::Step(run, index), &to_value(data))
}

/// An event as stored into the steps it resumes.
pub fn encode_event(topic: &str, payload: &Value) -> String {
    let data = StepData {
        result: Some(payload.clone()),
        topic: Some(topic.to_string()),
        ..StepData::default()
    };
    codec::encode_wf(&Owner::Event(topic), &to_value(&data))
}

pub fn decode_step(step: &WfStep) -> Result<StepData, String> {
    let Some(raw) = &step.data else {
        return Ok(StepData::default());
    };
    let v =
        codec::decode_wf(&Owner::Step(&step.run, step.index), raw).map_err(|e| e.to_string())?;
    from_value("step data", v)
}

/// A stored step as its journal entry.
pub fn entry(step: &WfStep) -> Result<JournalEntry, String> {
    let d = decode_step(step)?;
    Ok(JournalEntry {
        index: step.index,
        name: step.name.clone(),
        kind: step.kind,
        state: step.state,
        attempt: step.attempt,
        result: d.result,
        error: d.error,
        wake_at: d.wake_at,
        topic: d.topic,
        deadline: d.deadline,
        timed_out: d.timed_out,
        target: d.target,
        started_at: Some(step.started_at),
        finished_at: step.finished_at,
    })
}

/// A journal entry as a stored step of `run`.
pub fn stored(run: &str, e: &JournalEntry, now: i64) -> WfStep {
    let data = StepData {
        result: e.result.clone(),
        error: e.error.clone(),
        wake_at: e.wake_at,
        topic: e.topic.clone(),
        deadline: e.deadline,
        timed_out: e.timed_out,
        target: e.target.clone(),
    };
    WfStep {
        run: run.to_string(),
        index: e.index,
        name: e.name.clone(),
        kind: e.kind,
        state: e.state,
        attempt: e.attempt,
        data: Some(encode_step(run, e.index, &data)),
        started_at: e.started_at.unwrap_or(now),
        updated_at: now,
        finished_at: e.state.is_final().then_some(e.finished_at.unwrap_or(now)),
    }
}

/// A fresh entry for a step reached now.
pub fn fresh(
    index: u32,
    name: &str,
    kind: StepKind,
    state: StepState,
    attempt: u32,
    now: i64,
) -> JournalEntry {
    let mut e = JournalEntry::new(index, name, kind, state, attempt);
    e.started_at = Some(now);
    e
}
