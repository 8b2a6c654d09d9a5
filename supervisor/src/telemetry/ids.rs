//! Span and trace ids. A task attempt's span id is worked out from (worker, task id, attempt), so
//! the execution can hand the child its parent's id before the run and the observer can make
//! the span with that id once the outcome is committed, with nothing carried between them. A
//! task with no valid `traceparent` gets a trace id worked out from its task id (every attempt in
//! one trace). The SDK's ids come from [`StemIds`], which uses the ids set by [`with_ids`] for
//! the next span started on this thread and random ids otherwise.

use crate::observe::TaskRef;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use std::cell::Cell;
use std::hash::{DefaultHasher, Hash, Hasher};
use stem_protocol::trace::TraceParent;

fn hash64(value: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// The span id of `worker`'s run of `attempt` of task `id` (never zero).
pub fn attempt_span_id(worker: &str, id: &str, attempt: u32) -> [u8; 8] {
    (hash64((worker, id, attempt)) | 1).to_be_bytes()
}

/// The trace id of a task that came without one (never zero).
pub fn task_trace_id(id: &str) -> [u8; 16] {
    let hi = hash64(("trace-hi", id));
    let lo = hash64(("trace-lo", id)) | 1;
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&hi.to_be_bytes());
    out[8..].copy_from_slice(&lo.to_be_bytes());
    out
}

/// The trace context `worker`'s run of `task` hands its child: the task's trace (or the one
/// worked out from its id) with the attempt's span as the parent.
pub fn child_traceparent(worker: &str, task: &TaskRef) -> TraceParent {
    let span = attempt_span_id(worker, &task.id, task.attempt);
    match task.trace {
        Some(t) => t.child(span),
        None => TraceParent {
            trace_id: task_trace_id(&task.id),
            parent_id: span,
            flags: 1,
        },
    }
}

/// The trace id of `task` in hex: its producer's, else the one worked out from its id.
pub fn trace_id_hex(task: &TaskRef) -> String {
    match task.trace {
        Some(t) => t.trace_id_hex(),
        None => TraceParent {
            trace_id: task_trace_id(&task.id),
            parent_id: [1; 8],
            flags: 1,
        }
        .trace_id_hex(),
    }
}

thread_local! {
    static NEXT_SPAN_ID: Cell<Option<SpanId>> = const { Cell::new(None) };
    static NEXT_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// Runs `f` with `span` as the id of the next span started on this thread (and `trace` as the
/// id of the next new trace).
pub fn with_ids<T>(trace: [u8; 16], span: [u8; 8], f: impl FnOnce() -> T) -> T {
    NEXT_SPAN_ID.with(|c| c.set(Some(SpanId::from_bytes(span))));
    NEXT_TRACE_ID.with(|c| c.set(Some(TraceId::from_bytes(trace))));
    let out = f();
    NEXT_SPAN_ID.with(|c| c.set(None));
    NEXT_TRACE_ID.with(|c| c.set(None));
    out
}

#[derive(Debug, Default)]
pub struct StemIds(RandomIdGenerator);

impl IdGenerator for StemIds {
    fn new_trace_id(&self) -> TraceId {
        NEXT_TRACE_ID
            .with(Cell::take)
            .unwrap_or_else(|| self.0.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        NEXT_SPAN_ID
            .with(Cell::take)
            .unwrap_or_else(|| self.0.new_span_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(attempt_span_id("w", "t", 1), attempt_span_id("w", "t", 1));
        assert_ne!(attempt_span_id("w", "t", 1), attempt_span_id("w", "t", 2));
        assert_ne!(attempt_span_id("w", "t", 1), attempt_span_id("v", "t", 1));
        assert_ne!(task_trace_id("a"), task_trace_id("b"));
        let ids = StemIds::default();
        let want = [9u8; 8];
        let got = with_ids([3; 16], want, || (ids.new_trace_id(), ids.new_span_id()));
        assert_eq!(
            got,
            (TraceId::from_bytes([3; 16]), SpanId::from_bytes(want))
        );
        assert_ne!(ids.new_span_id(), SpanId::from_bytes(want));
    }
}
