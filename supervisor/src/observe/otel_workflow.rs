//! Workflows in OpenTelemetry: run transitions counted by workflow and state
//! (`stem.workflow.runs`), step durations by workflow, kind and state
//! (`stem.workflow.step.duration`), and, when traces are exported, one span per journaled step,
//! a child of its resume's attempt span (so a run's trace shows each resume with its steps).
//! Labels stay bounded: workflow names the manifest does not declare count as `(unknown)`;
//! run ids and step names are span attributes, never labels.

use super::{TaskRef, WorkflowStep};
use crate::telemetry::ids;
use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry::trace::{
    Span, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use std::collections::HashSet;
use std::time::{Duration, UNIX_EPOCH};

pub struct WorkflowInstruments {
    runs: Counter<u64>,
    steps: Histogram<f64>,
}

impl WorkflowInstruments {
    pub fn new(meter: &Meter, seconds: &[f64]) -> Self {
        WorkflowInstruments {
            runs: meter
                .u64_counter("stem.workflow.runs")
                .with_description("Workflow run transitions, by workflow and state")
                .build(),
            steps: meter
                .f64_histogram("stem.workflow.step.duration")
                .with_unit("s")
                .with_description("Workflow step durations, by workflow, kind and state")
                .with_boundaries(seconds.to_vec())
                .build(),
        }
    }
}

fn workflow_label(known: &HashSet<String>, workflow: &str) -> String {
    let task = stem_protocol::workflow::task_name(workflow);
    if known.contains(&task) {
        workflow.to_string()
    } else {
        "(unknown)".to_string()
    }
}

pub fn run(
    m: Option<&WorkflowInstruments>,
    known: &HashSet<String>,
    workflow: &str,
    state: &'static str,
) {
    if let Some(m) = m {
        m.runs.add(
            1,
            &[
                KeyValue::new("workflow", workflow_label(known, workflow)),
                KeyValue::new("state", state),
            ],
        );
    }
}

pub fn step(
    m: Option<&WorkflowInstruments>,
    tracer: Option<&SdkTracer>,
    known: &HashSet<String>,
    worker: &str,
    task: &TaskRef,
    s: &WorkflowStep,
) {
    let seconds = (s.finished_at - s.started_at).max(0) as f64 / 1000.0;
    if let Some(m) = m {
        m.steps.record(
            seconds,
            &[
                KeyValue::new("workflow", workflow_label(known, &s.workflow)),
                KeyValue::new("kind", s.kind),
                KeyValue::new("state", s.state),
            ],
        );
    }
    let Some(tracer) = tracer else { return };
    // The parent is the resume's attempt span, whose ids are worked out from the attempt.
    let parent = ids::child_traceparent(worker, task);
    let cx = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_bytes(parent.trace_id),
        SpanId::from_bytes(parent.parent_id),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
    let at = |ms: i64| UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    let attrs = vec![
        KeyValue::new("stem.workflow.run", s.run.clone()),
        KeyValue::new("stem.workflow.name", s.workflow.clone()),
        KeyValue::new("stem.workflow.step", s.name.clone()),
        KeyValue::new("stem.workflow.step.index", i64::from(s.index)),
        KeyValue::new("stem.workflow.step.kind", s.kind),
        KeyValue::new("stem.workflow.step.state", s.state),
        KeyValue::new("stem.attempt", i64::from(s.attempt)),
    ];
    let mut span = tracer
        .span_builder(format!("step {}", s.name))
        .with_kind(SpanKind::Internal)
        .with_start_time(at(s.started_at))
        .with_attributes(attrs)
        .start_with_context(tracer, &cx);
    span.end_with_timestamp(at(s.finished_at.max(s.started_at)));
}
