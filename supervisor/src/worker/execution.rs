//! One run, in its own task: the record it starts from (an attempt after the first carries the
//! earlier attempts' errors), a `started` record for a task still running after a moment,
//! progress records (throttled), the executor, and the result sent back to the dispatcher. Its
//! only writes are records, fenced by the delivery's generation; its outcome is committed by the
//! dispatcher.

use super::config::WorkerConfig;
use super::delivery::Outcome;
use super::dispatcher::{Event, ExecUpdate};
use super::outcome::{advance, fresh_record};
use crate::exec::limits::StopReceiver;
use crate::exec::next::Ticket;
use crate::exec::{EventSink, ExecEvent, Executor, RunOutcome, WorkflowLink};
use crate::logging::LogFormat;
use crate::observe::{Lifecycle, Observer, TaskRef};
use crate::telemetry::ids;
use crate::workflow::resume;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stem_adapters::Commit;
use stem_adapters::Delivery;
use stem_protocol::manifest::EffectiveTask;
use stem_protocol::trace;
use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

/// Shortest time between two progress writes of one task.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// A task still running after this long gets a `started` record.
const STARTED_RECORD_AFTER: Duration = Duration::from_millis(100);

/// What a run needs besides its delivery.
pub struct RunContext {
    pub config: Arc<WorkerConfig>,
    pub executor: Arc<Executor>,
    pub observer: Observer,
    pub events: mpsc::UnboundedSender<Event>,
    /// Spans are exported: the child is handed this worker's span for the attempt as its parent.
    pub child_traces: bool,
}

/// A finished run, for the dispatcher to commit.
pub struct Finished {
    pub envelope: TaskEnvelope,
    pub task: Box<EffectiveTask>,
    pub record: TaskRecord,
    pub outcome: RunOutcome,
    /// The commit already worked out (a workflow resume's), instead of the outcome's.
    pub settled: Option<Box<(Commit, Outcome)>>,
}

/// Runs the delivery; in the JSON log format, every line logged meanwhile carries the task's
/// id, name, attempt and trace id (the fields of its `task` span).
pub async fn run(
    ctx: Arc<RunContext>,
    delivery: Delivery,
    envelope: TaskEnvelope,
    task: Box<EffectiveTask>,
    stop: StopReceiver,
    ticket: Option<Ticket>,
) {
    let span = if crate::logging::format() == LogFormat::Json {
        let t = TaskRef::of(&envelope);
        tracing::info_span!(
            "task",
            task = %t.id,
            name = %t.name,
            attempt = t.attempt,
            trace_id = %ids::trace_id_hex(&t)
        )
    } else {
        tracing::Span::none()
    };
    run_in_span(ctx, delivery, envelope, task, stop, ticket)
        .instrument(span)
        .await
}

async fn run_in_span(
    ctx: Arc<RunContext>,
    delivery: Delivery,
    envelope: TaskEnvelope,
    task: Box<EffectiveTask>,
    mut stop: StopReceiver,
    ticket: Option<Ticket>,
) {
    let receipt = delivery.receipt.clone();
    let mut record = initial(&ctx, &delivery, &envelope).await;
    record.attempt = envelope.attempt;
    advance(&mut record, TaskState::Started);
    // A workflow resume claims its run first; one with nothing to run ends here.
    let mut resume = None;
    if resume::is_resume(&envelope) {
        match resume::prepare(&ctx.config, &ctx.observer, &delivery, &envelope, &record).await {
            resume::Prepared::Done(done) => {
                ctx.observer
                    .emit(Lifecycle::Started(TaskRef::of(&envelope)));
                let finished = Finished {
                    envelope,
                    task,
                    record,
                    outcome: RunOutcome {
                        result: Ok(serde_json::Value::Null),
                        stderr: String::new(),
                        forced: None,
                        healthy: true,
                    },
                    settled: Some(done),
                };
                let _ = ctx.events.send(Event::Exec {
                    receipt,
                    update: ExecUpdate::Finished(Box::new(finished)),
                });
                return;
            }
            resume::Prepared::Run(r) => resume = Some(r),
        }
    }
    // `started` goes to the observer when the child starts the task (a run queued on a busy
    // child waits first; `watch`), or just before its outcome when no child ever started it.
    let t = TaskRef::of(&envelope);
    let traced;
    let handed = if ctx.child_traces || resume.is_some() {
        let mut copy = envelope.clone();
        if ctx.child_traces {
            let parent = ids::child_traceparent(&ctx.config.worker_id, &t);
            copy.headers
                .insert(trace::HEADER.to_string(), parent.to_string());
        }
        if let Some(r) = &resume {
            copy.args = r.data.args.clone();
            copy.kwargs = r.data.kwargs.clone();
        }
        traced = copy;
        &traced
    } else {
        &envelope
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let (began_tx, began_rx) = oneshot::channel();
    // `ignore_result`: no `started` or progress records (a success leaves none at all).
    let records = !envelope.ignore_result;
    let watcher = tokio::spawn(watch(
        ctx.clone(),
        receipt.clone(),
        t,
        record.clone(),
        rx,
        began_tx,
        records,
    ));
    // A resume's step messages are journaled by their own task while the child runs.
    let (steps, workflow) = match resume {
        Some(r) => {
            let (steps_tx, mut steps_rx) = mpsc::unbounded_channel();
            let link = WorkflowLink {
                run: resume::handed(&r),
                steps: steps_tx,
            };
            let mut r = *r;
            let handler = tokio::spawn(async move {
                while let Some((msg, reply)) = steps_rx.recv().await {
                    if let Some(ack) = r.handle(msg).await {
                        let _ = reply.send(ack);
                    }
                }
                r
            });
            (Some(handler), Some(link))
        }
        None => (None, None),
    };
    let outcome = {
        let mut sink = EventSink::new(tx);
        if let Some(link) = workflow {
            sink = sink.with_workflow(link);
        }
        let execution = ctx.executor.run(handed, &task, &sink, &mut stop, ticket);
        tokio::pin!(execution);
        // Short tasks go straight to their outcome; a task still running a moment after its
        // child started it (a run queued on a busy child waits first) gets a `started` record,
        // so `stem result` shows it. This saves a write per short task.
        let began = async {
            let at = began_rx.await.ok()?;
            tokio::time::sleep(STARTED_RECORD_AFTER).await;
            Some(at)
        };
        tokio::select! {
            outcome = &mut execution => outcome,
            Some(at) = began, if records => {
                record.started_at = Some(at);
                write(&ctx, &record).await;
                execution.await
            }
        }
    };
    match watcher.await {
        Ok((progress, began_at)) => {
            if progress.is_some() {
                record.progress = progress;
            }
            if began_at.is_none() {
                ctx.observer
                    .emit(Lifecycle::Started(TaskRef::of(&envelope)));
            }
            record.started_at = began_at.or(record.started_at);
        }
        Err(_) => ctx
            .observer
            .emit(Lifecycle::Started(TaskRef::of(&envelope))),
    }
    let settled = match steps {
        Some(handler) => match handler.await {
            Ok(r) => Some(Box::new(
                crate::workflow::settle::settle(
                    &ctx.config,
                    r,
                    &delivery,
                    &envelope,
                    &task,
                    record.clone(),
                    outcome.clone(),
                )
                .await,
            )),
            Err(_) => None,
        },
        None => None,
    };
    let finished = Finished {
        envelope,
        task,
        record,
        outcome,
        settled,
    };
    let _ = ctx.events.send(Event::Exec {
        receipt,
        update: ExecUpdate::Finished(Box::new(finished)),
    });
}

/// The record a run starts from: fresh for a first attempt, else carrying the stored errors.
async fn initial(ctx: &RunContext, d: &Delivery, env: &TaskEnvelope) -> TaskRecord {
    let mut record = fresh_record(d, env, &ctx.config.worker_id);
    if env.attempt > 1 {
        let stored = ctx.config.adapters.backend.get(&env.id).await;
        // Only this run's: an earlier run of a reused id keeps its own errors.
        if let Ok(Some(previous)) = stored.map(|r| r.filter(|p| p.run == record.run)) {
            record.errors = previous.errors;
            record.created_at = previous.created_at;
        }
    }
    record
}

/// Writes a non-final record (started, progress); a refused write (a newer owner's record is
/// there) or a failed one is only logged: the outcome's commit is what counts.
async fn write(ctx: &RunContext, record: &TaskRecord) {
    let ttl = ctx.config.result_ttl;
    match ctx
        .config
        .adapters
        .backend
        .set(std::slice::from_ref(record), ttl)
        .await
    {
        Ok(w) if w.first() == Some(&false) => {
            tracing::debug!(task = %record.id, "a newer owner's record stands; {} not recorded", record.state)
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(task = %record.id, "cannot record {} ({e})", record.state),
    }
}

/// Follows a run's events: the pid goes to the dispatcher (and the moment the child started the
/// task to `began`), progress to the record and the observer. Returns the latest progress and
/// when the task started.
async fn watch(
    ctx: Arc<RunContext>,
    receipt: String,
    task: TaskRef,
    mut record: TaskRecord,
    mut rx: mpsc::UnboundedReceiver<ExecEvent>,
    began: oneshot::Sender<i64>,
    records: bool,
) -> (Option<serde_json::Value>, Option<i64>) {
    let mut last_progress = None;
    let mut last_write: Option<Instant> = None;
    let mut began = Some(began);
    let mut began_at = None;
    while let Some(event) = rx.recv().await {
        match event {
            ExecEvent::Started { pid } => {
                if let Some(tx) = began.take() {
                    let at = stem_protocol::now_ms();
                    began_at = Some(at);
                    record.started_at = Some(at);
                    let _ = tx.send(at);
                    ctx.observer.emit(Lifecycle::Started(task.clone()));
                }
                let _ = ctx.events.send(Event::Exec {
                    receipt: receipt.clone(),
                    update: ExecUpdate::Pid(pid),
                });
            }
            ExecEvent::Progress(p) => {
                record.progress = Some(p.clone());
                last_progress = Some(p.clone());
                // At most a few writes a second, however fast a task reports; the final
                // record carries the latest progress anyway.
                if records && last_write.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                    last_write = Some(Instant::now());
                    record.updated_at = stem_protocol::now_ms();
                    write(&ctx, &record).await;
                }
                ctx.observer.emit(Lifecycle::Progress(task.clone(), p));
            }
            ExecEvent::Heartbeat => {}
        }
    }
    (last_progress, began_at)
}
