//! The OpenTelemetry sink: counters of outcomes by task, queue and outcome; histograms of queue
//! wait (ready → started), run time (started → child done) and commit time (child done →
//! commit applied); dead letters, stale commits, lost leases, broker errors and recoveries,
//! children spawned and recycled; and, when traces are exported, one span per attempt, from
//! the moment the task could run to its commit, whose id is the parent handed to the child
//! (`telemetry::ids`). Labels stay bounded: task names the manifest does not know are counted
//! as `(unknown)`, and no task id is ever a label.

use super::timing::{Timing, Timings};
use super::{Lifecycle, Sink, TaskRef};
use crate::telemetry::ids;
use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry::trace::{
    Span, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
    Tracer,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds buckets for task times: 1 ms to 10 minutes.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0, 600.0,
];

struct Instruments {
    tasks: Counter<u64>,
    run: Histogram<f64>,
    wait: Histogram<f64>,
    commit: Histogram<f64>,
    dead: Counter<u64>,
    stale: Counter<u64>,
    leases_lost: Counter<u64>,
    broker_errors: Counter<u64>,
    broker_recoveries: Counter<u64>,
    spawned: Counter<u64>,
    recycled: Counter<u64>,
    throttled: Counter<u64>,
}

fn histogram(meter: &Meter, name: &'static str, what: &'static str) -> Histogram<f64> {
    meter
        .f64_histogram(name)
        .with_unit("s")
        .with_description(what)
        .with_boundaries(SECONDS.to_vec())
        .build()
}

fn counter(meter: &Meter, name: &'static str, what: &'static str) -> Counter<u64> {
    meter.u64_counter(name).with_description(what).build()
}

impl Instruments {
    fn new(meter: &Meter) -> Instruments {
        Instruments {
            tasks: counter(
                meter,
                "stem.tasks",
                "Task outcomes committed, by task, queue and outcome",
            ),
            run: histogram(
                meter,
                "stem.task.run.duration",
                "Run time: started to the child done",
            ),
            wait: histogram(
                meter,
                "stem.task.queue.wait",
                "Queue wait: ready (enqueued or due) to started",
            ),
            commit: histogram(
                meter,
                "stem.task.commit.duration",
                "Commit time: the child done to its outcome committed",
            ),
            dead: counter(
                meter,
                "stem.dead_letters",
                "Deliveries moved to the dead letters",
            ),
            stale: counter(
                meter,
                "stem.stale_commits",
                "Commits refused because the lease had passed to another worker",
            ),
            leases_lost: counter(
                meter,
                "stem.leases.lost",
                "Leases the broker reported lost before the outcome was committed",
            ),
            broker_errors: counter(
                meter,
                "stem.broker.errors",
                "Broker calls that failed, by operation",
            ),
            broker_recoveries: counter(
                meter,
                "stem.broker.reconnects",
                "Times the broker answered again after errors",
            ),
            spawned: counter(
                meter,
                "stem.children.spawned",
                "Children started, by runtime",
            ),
            recycled: counter(
                meter,
                "stem.children.recycled",
                "Children recycled, by runtime",
            ),
            throttled: counter(
                meter,
                "stem.flow.throttled",
                "Milliseconds deliveries waited at flow-control gates, by limit",
            ),
        }
    }
}

pub struct OtelSink {
    known: HashSet<String>,
    metrics: Option<Instruments>,
    workflows: Option<super::otel_workflow::WorkflowInstruments>,
    tracer: Option<SdkTracer>,
    timings: Timings,
}

fn system_time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

impl OtelSink {
    /// A sink recording on `meter` and `tracer` (either may be absent); `known` are the task
    /// names of the manifest (the only ones used as labels).
    pub fn new(
        meter: Option<&Meter>,
        tracer: Option<SdkTracer>,
        known: HashSet<String>,
    ) -> OtelSink {
        OtelSink {
            known,
            metrics: meter.map(Instruments::new),
            workflows: meter.map(|m| super::otel_workflow::WorkflowInstruments::new(m, SECONDS)),
            tracer,
            timings: Timings::default(),
        }
    }

    fn labels(&self, t: &TaskRef) -> Vec<KeyValue> {
        let task = if self.known.contains(&t.name) {
            t.name.clone()
        } else {
            "(unknown)".to_string()
        };
        vec![
            KeyValue::new("task", task),
            KeyValue::new("queue", t.queue.clone()),
        ]
    }

    fn started(&self, t: &TaskRef) {
        let now = self.timings.started(t);
        if let Some(m) = &self.metrics {
            let wait = now
                .duration_since(system_time(t.ready_at))
                .unwrap_or_default();
            m.wait.record(wait.as_secs_f64(), &self.labels(t));
        }
    }

    /// An applied outcome: counted, timed, and its span ended.
    fn outcome(&self, worker: &str, t: &TaskRef, outcome: &'static str, error: Option<&str>) {
        let timing = self.timings.take(t);
        if let Some(m) = &self.metrics {
            let mut labels = self.labels(t);
            labels.push(KeyValue::new("outcome", outcome));
            m.tasks.add(1, &labels);
            if let Some(tm) = &timing {
                if let (Some(run), Some((_, done))) = (tm.run(), tm.ran) {
                    m.run.record(run.as_secs_f64(), &labels);
                    m.commit
                        .record(done.elapsed().as_secs_f64(), &self.labels(t));
                }
            }
        }
        if let (Some(tracer), Some(timing)) = (&self.tracer, timing) {
            self.span(tracer, worker, t, outcome, error, timing);
        }
    }

    fn span(
        &self,
        tracer: &SdkTracer,
        worker: &str,
        t: &TaskRef,
        outcome: &'static str,
        error: Option<&str>,
        timing: Timing,
    ) {
        let cx = match t.trace {
            Some(p) => Context::new().with_remote_span_context(SpanContext::new(
                TraceId::from_bytes(p.trace_id),
                SpanId::from_bytes(p.parent_id),
                TraceFlags::new(p.flags),
                true,
                TraceState::default(),
            )),
            None => Context::new(),
        };
        let mine = ids::child_traceparent(worker, t);
        let ready = system_time(t.ready_at).min(timing.started);
        let now = SystemTime::now();
        let run_ms = timing
            .ran
            .map(|(_, at)| (at - timing.started_at).as_millis() as i64);
        let mut attrs = vec![
            KeyValue::new("stem.task.id", t.id.clone()),
            KeyValue::new("stem.task.name", t.name.clone()),
            KeyValue::new("stem.attempt", i64::from(t.attempt)),
            KeyValue::new("stem.worker", worker.to_string()),
            KeyValue::new("stem.outcome", outcome),
            KeyValue::new("messaging.system", "stem"),
            KeyValue::new("messaging.destination.name", t.queue.clone()),
            KeyValue::new(
                "stem.queue_wait_ms",
                timing
                    .started
                    .duration_since(ready)
                    .unwrap_or_default()
                    .as_millis() as i64,
            ),
        ];
        if let Some(ms) = run_ms {
            attrs.push(KeyValue::new("stem.run_ms", ms));
        }
        let mut span = ids::with_ids(mine.trace_id, mine.parent_id, || {
            tracer
                .span_builder(format!("run {}", t.name))
                .with_kind(SpanKind::Consumer)
                .with_start_time(ready)
                .with_attributes(attrs)
                .start_with_context(tracer, &cx)
        });
        span.add_event_with_timestamp("started", timing.started, Vec::new());
        if let Some((at, _)) = timing.ran {
            span.add_event_with_timestamp("child done", at, Vec::new());
        }
        if let Some(e) = error {
            span.set_status(Status::error(
                super::privacy::error_for_telemetry(e).into_owned(),
            ));
        }
        span.end_with_timestamp(now);
    }

    fn count(&self, pick: impl FnOnce(&Instruments) -> &Counter<u64>, labels: &[KeyValue]) {
        if let Some(m) = &self.metrics {
            pick(m).add(1, labels);
        }
    }
}

impl Sink for OtelSink {
    fn observe(&self, worker: &str, event: &Lifecycle) {
        match event {
            Lifecycle::Started(t) => self.started(t),
            Lifecycle::Ran(t) => self.timings.ran(t),
            Lifecycle::Succeeded(t) => self.outcome(worker, t, "success", None),
            Lifecycle::Retried { task, error, .. } => {
                self.outcome(worker, task, "retry", Some(error))
            }
            Lifecycle::Failed { task, error, .. } => {
                self.outcome(worker, task, "failure", Some(error))
            }
            Lifecycle::Revoked { task, .. } => self.outcome(worker, task, "revoked", None),
            Lifecycle::Expired(task) => self.outcome(worker, task, "expired", None),
            Lifecycle::DeadLettered { task, .. } => self.count(|m| &m.dead, &self.labels(task)),
            Lifecycle::StaleCommit { task, .. } => {
                self.timings.take(task);
                self.count(|m| &m.stale, &self.labels(task));
            }
            Lifecycle::LeaseLost { task, .. } => self.count(|m| &m.leases_lost, &self.labels(task)),
            Lifecycle::GivenBack(task) => {
                self.timings.take(task);
            }
            Lifecycle::BrokerError { op } => {
                self.count(|m| &m.broker_errors, &[KeyValue::new("op", *op)])
            }
            Lifecycle::BrokerRecovered => self.count(|m| &m.broker_recoveries, &[]),
            Lifecycle::Throttled { limit, ms } => {
                if let Some(m) = &self.metrics {
                    m.throttled
                        .add(*ms, &[KeyValue::new("limit", limit.clone())]);
                }
            }
            Lifecycle::ChildSpawned { runtime, .. } => {
                self.count(|m| &m.spawned, &[KeyValue::new("runtime", runtime.clone())])
            }
            Lifecycle::ChildRecycled { runtime, .. } => self.count(
                |m| &m.recycled,
                &[KeyValue::new("runtime", runtime.clone())],
            ),
            Lifecycle::WorkflowRun {
                workflow, state, ..
            } => super::otel_workflow::run(self.workflows.as_ref(), &self.known, workflow, state),
            Lifecycle::WorkflowStep { task, step } => super::otel_workflow::step(
                self.workflows.as_ref(),
                self.tracer.as_ref(),
                &self.known,
                worker,
                task,
                step,
            ),
            Lifecycle::Received(_) | Lifecycle::Progress(..) => {}
        }
    }
}
