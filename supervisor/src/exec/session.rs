//! One child speaking the JSON-lines protocol: started once, then given tasks one at a time.
//! In `process` isolation a session serves one task; in `pool` many; in `forkserver` the child
//! is a warm server that forks a process (its own group) per task and names it in `forked`.
//! Time limits and stop requests signal the group running the task; the session reports
//! whether the child is still fit to serve another task.

use super::limits::{
    forced_outcome, listening, next_stop, sleep_until_opt, Forced, Limits, StopReceiver,
    StopRequest,
};
use super::lines::{write_line, LineError, LineReader, Write};
use super::next::NextSlot;
use super::spawn::{spawn, SpawnSpec};
use super::stderr::{log_child_line, StderrTail};
use super::tree::Tree;
use super::unix::{describe_exit, signal_group};
use super::{EventSink, ExecEvent, RunOutcome};
use nix::sys::signal::Signal;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use stem_protocol::messages::{quote_bytes, MAX_LINE_BYTES};
use stem_protocol::workflow::{StepAck, StepOp};
use stem_protocol::{ChildMessage, SupervisorMessage, TaskError, TaskRequest, PROTOCOL_VERSION};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::time::Instant;

mod ending;
mod teardown;

/// How long a child may take to exit after its stdin closes before its group is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// How long to wait for stdout to close after the group was killed.
const KILL_SETTLE: Duration = Duration::from_secs(5);

pub struct Session {
    child: Child,
    pub pid: u32,
    stdin: Option<ChildStdin>,
    lines: LineReader<ChildStdout>,
    stderr: StderrTail,
    /// Every process the child started (its cgroup, or its tracked tree).
    tree: Tree,
    served_tasks: Option<BTreeSet<String>>,
    /// Tasks this child has run (pool recycling).
    pub served: u32,
    forkserver: bool,
    label: String,
    /// The tasks queued on this child while it runs one (pool pipelining).
    pub next: Arc<NextSlot>,
    /// How long the last task took from its start to its answer (the pool's adaptive depth).
    pub last_run: Option<Duration>,
    /// Counts this child among its pool's live ones until it is dropped.
    pub live: Option<super::pool::LiveToken>,
}

impl Session {
    pub fn start(spec: &SpawnSpec, forkserver: bool) -> std::io::Result<Session> {
        let (mut child, tree) = spawn(spec)?;
        let pid = child.id().unwrap_or(0);
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = StderrTail::pump(child.stderr.take().expect("stderr is piped"), pid);
        Ok(Session {
            child,
            pid,
            stdin,
            lines: LineReader::new(stdout, MAX_LINE_BYTES),
            tree,
            stderr,
            served_tasks: None,
            served: 0,
            forkserver,
            label: spec.display(),
            next: Arc::default(),
            last_run: None,
            live: None,
        })
    }

    /// Reads the child's `hello` (skipping its log lines): the tasks it serves, or why it
    /// cannot serve at all (it exited, wrote garbage, speaks another protocol).
    pub async fn hello(&mut self) -> Result<Vec<String>, String> {
        loop {
            let bytes = match self.lines.next_line().await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => {
                    let how = match tokio::time::timeout(KILL_SETTLE, self.child.wait()).await {
                        Ok(Ok(s)) => describe_exit(s),
                        _ => "closed its stdout".to_string(),
                    };
                    self.stderr.wait_closed(Duration::from_secs(1)).await;
                    let tail = self.stderr.tail();
                    let last = tail.lines().rev().find(|l| !l.trim().is_empty());
                    return Err(match last {
                        Some(line) => {
                            format!("`{}` {how} before its hello: {}", self.label, line.trim())
                        }
                        None => format!("`{}` {how} before its hello", self.label),
                    });
                }
                Err(e) => return Err(format!("cannot read the hello of `{}`: {e:?}", self.label)),
            };
            match ChildMessage::parse_line(&bytes) {
                Ok(ChildMessage::Hello { protocol, tasks, pipeline, .. }) if protocol == PROTOCOL_VERSION => {
                    self.served_tasks = Some(tasks.iter().cloned().collect());
                    self.next.set_ahead(pipeline);
                    return Ok(tasks);
                }
                Ok(ChildMessage::Hello { protocol, sdk, .. }) => {
                    return Err(format!(
                        "`{}` ({sdk}) speaks protocol {protocol}, this supervisor speaks {PROTOCOL_VERSION}",
                        self.label
                    ))
                }
                Ok(ChildMessage::Log { .. }) => continue,
                Ok(other) => {
                    return Err(format!("`{}` sent {:?} before its hello", self.label, other.kind()))
                }
                Err(reason) => return Err(format!("`{}`: {reason}", self.label)),
            }
        }
    }

    /// Runs one task on this child. `written`: its line is already in the child's stdin (it
    /// was queued behind the task before). A task queued meanwhile for the next turn has its
    /// line written the moment this one answers (`next.rs`).
    pub async fn run(
        &mut self,
        req: &TaskRequest,
        mut limits: Limits,
        events: &EventSink,
        stop: &mut StopReceiver,
        written: bool,
    ) -> RunOutcome {
        self.served += 1;
        self.stderr.begin(&req.id);
        // The task line is written inside the loop below, so a child that never reads its stdin
        // (with a line bigger than the pipe buffer) still meets its limits. A failed write
        // (EPIPE) means the child is gone; reading stdout tells how.
        let mut write: Option<Write> = if written {
            None
        } else {
            let line = SupervisorMessage::Task(req.clone()).to_line();
            Some(write_line(self.stdin.take(), line))
        };
        let next = self.next.clone();
        next.nudge();
        let began = Instant::now();
        let mut target = (!self.forkserver).then_some(self.pid);
        if let Some(pid) = target {
            events.send(ExecEvent::Started { pid });
        }
        let mut soft_sent = false;
        let mut soft_taken = false;
        let mut forced: Option<Forced> = None;
        let mut kill_at: Option<Instant> = None;
        let mut give_up_at: Option<Instant> = None;
        // A workflow step waiting for its `step_ack` (what it says being made durable).
        let mut ack: Option<tokio::sync::oneshot::Receiver<StepAck>> = None;
        loop {
            tokio::select! {
                biased;
                stdin = async { write.as_mut().expect("writing").await }, if write.is_some() => {
                    write = None;
                    self.stdin = stdin;
                    continue;
                }
                // Lines of tasks queued behind this one, and withdraws, for a child that takes
                // them ahead (not once the task is being stopped by force).
                _ = next.woken(), if write.is_none() && forced.is_none() => {
                    let due = next.due();
                    if !due.is_empty() {
                        write = Some(write_line(self.stdin.take(), due));
                    }
                    continue;
                }
                answer = async { ack.as_mut().expect("acking").await }, if ack.is_some() => {
                    ack = None;
                    let Ok(answer) = answer else {
                        return self.broken("the workflow step could not be recorded".into());
                    };
                    if let Some(w) = write.take() {
                        self.stdin = w.await;
                    }
                    let line = SupervisorMessage::StepAck(answer).to_line();
                    write = Some(write_line(self.stdin.take(), line));
                    continue;
                }
                line = self.lines.next_line() => {
                    let bytes = match line {
                        Ok(Some(bytes)) => bytes,
                        Ok(None) => return self.ended_early(forced, soft_sent, limits).await,
                        Err(LineError::TooLong { max, head }) => {
                            return self.broken(format!(
                                "child wrote a line longer than {max} bytes: {}",
                                quote_bytes(&head, 200)
                            ));
                        }
                        Err(LineError::Io(e)) => {
                            return self.broken(format!("cannot read the child's stdout: {e}"))
                        }
                    };
                    let msg = match ChildMessage::parse_line(&bytes) {
                        Ok(msg) => msg,
                        // Half a line cut off by a kill is the kill's doing, not a protocol error.
                        Err(_) if forced.is_some() => return self.ended_early(forced, soft_sent, limits).await,
                        Err(reason) => return self.broken(reason),
                    };
                    match msg {
                        ChildMessage::Hello { protocol, sdk, tasks, pipeline } => {
                            if self.served_tasks.is_some() {
                                return self.broken("child sent a second hello".into());
                            }
                            if protocol != PROTOCOL_VERSION {
                                return self.broken(format!(
                                    "child ({sdk}) speaks protocol {protocol}, this supervisor speaks {PROTOCOL_VERSION}"
                                ));
                            }
                            self.served_tasks = Some(tasks.into_iter().collect());
                            self.next.set_ahead(pipeline);
                        }
                        ChildMessage::Forked { id, pid } if self.forkserver && id == req.id => {
                            target = Some(pid);
                            events.send(ExecEvent::Started { pid });
                        }
                        other if other.task_id() != Some(req.id.as_str()) => {
                            return self.broken(format!(
                                "child sent {:?} for task {:?} while running {}",
                                other.kind(),
                                other.task_id().unwrap_or(""),
                                req.id
                            ));
                        }
                        ChildMessage::Progress { progress, .. } => events.send(ExecEvent::Progress(progress)),
                        ChildMessage::Heartbeat { .. } => events.send(ExecEvent::Heartbeat),
                        ChildMessage::Log { level, message, .. } => {
                            log_child_line(&req.id, &level, &message);
                        }
                        ChildMessage::Result { value, .. } => {
                            self.kill_leftovers(target);
                            self.last_run = Some(began.elapsed());
                            self.write_next(&next, write.take(), forced).await;
                            return self.answered(Ok(value), forced, limits);
                        }
                        ChildMessage::Error { error, .. } => {
                            self.kill_leftovers(target);
                            self.last_run = Some(began.elapsed());
                            self.write_next(&next, write.take(), forced).await;
                            return self.answered(Err(error), forced, limits);
                        }
                        ChildMessage::Forked { .. } => {
                            return self.broken("child sent `forked` outside fork-server isolation".into());
                        }
                        ChildMessage::Withdrawn { .. } => {
                            return self.broken("child answered `withdrawn` for the task it runs".into());
                        }
                        ChildMessage::Step(step) => {
                            let answered = !matches!(step.op, StepOp::Start { .. });
                            if answered && ack.is_some() {
                                return self.broken(format!(
                                    "child sent step {} ({:?}) before the previous step was acknowledged",
                                    step.index, step.op.kind()
                                ));
                            }
                            match events.step(step) {
                                Some(rx) if answered => ack = Some(rx),
                                Some(_) => {}
                                None => {
                                    return self.broken(format!(
                                        "child sent a workflow step while running task {} ({}), which is not a workflow resume",
                                        req.id, req.name
                                    ));
                                }
                            }
                        }
                    }
                    if let Some(tasks) = &self.served_tasks {
                        if !tasks.contains(&req.name) {
                            let served: Vec<&str> = tasks.iter().map(String::as_str).collect();
                            let err = TaskError::new(
                                "UnknownTask",
                                format!("`{}` does not serve task {:?} (it serves: {})", self.label, req.name, served.join(", ")),
                            ).permanent();
                            // The child never saw a task it knows; it is no longer in step.
                            return self.broken_with(err);
                        }
                    }
                }
                // Not before `hello`: until then the SDK may not have installed its handler, and
                // the signal's default action would kill the child instead of warning the task.
                _ = sleep_until_opt(limits.soft_at), if !soft_sent && target.is_some() && self.served_tasks.is_some() => {
                    soft_sent = true;
                    let what = limits.soft_limit(target.unwrap_or(self.pid));
                    tracing::info!(task = %req.id, "soft time limit: {what}");
                }
                _ = sleep_until_opt(limits.hard_at), if forced.is_none() => {
                    forced = Some(Forced::HardLimit);
                    self.kill_task(target);
                    give_up_at = Some(Instant::now() + KILL_SETTLE);
                }
                request = next_stop(stop), if forced.is_none() && listening(stop, soft_taken) => {
                    match request {
                        StopRequest::Soft => {
                            soft_taken = true;
                            if !soft_sent {
                                limits.soft_at = Some(Instant::now());
                            }
                        }
                        StopRequest::Terminate { grace } => {
                            forced = Some(Forced::Revoked);
                            signal_group(target.unwrap_or(self.pid), Signal::SIGTERM);
                            kill_at = Some(Instant::now() + grace);
                        }
                        _ => {
                            forced = Some(Forced::Shutdown);
                            self.kill_task(target);
                            give_up_at = Some(Instant::now() + KILL_SETTLE);
                        }
                    }
                }
                _ = sleep_until_opt(kill_at) => {
                    kill_at = None;
                    self.kill_task(target);
                    give_up_at = Some(Instant::now() + KILL_SETTLE);
                }
                _ = sleep_until_opt(give_up_at) => {
                    let outcome = forced_outcome(forced.unwrap_or(Forced::Shutdown), limits, self.stderr.tail());
                    self.kill_now();
                    return RunOutcome { healthy: false, ..outcome };
                }
            }
        }
    }

    /// As the task answers: writes what is still unwritten of the tasks queued on this child,
    /// so the child starts the next one now (not when a child stopped by force: it will not
    /// serve again), then reads the `withdrawn` of each withdrawn task at the front. A write in
    /// flight is completed first; a child that does not read, or answer a withdraw, within the
    /// grace is not reused.
    async fn write_next(&mut self, next: &NextSlot, write: Option<Write>, forced: Option<Forced>) {
        if let Some(write) = write {
            self.stdin = tokio::time::timeout(EXIT_GRACE, write).await.ok().flatten();
        }
        if forced.is_some() || self.forkserver || self.stdin.is_none() {
            return;
        }
        if let Some(lines) = next.at_turn() {
            let write = write_line(self.stdin.take(), lines);
            self.stdin = tokio::time::timeout(EXIT_GRACE, write).await.ok().flatten();
        }
        if !next.ahead() {
            return;
        }
        let due = next.due();
        if !due.is_empty() {
            let write = write_line(self.stdin.take(), due);
            self.stdin = tokio::time::timeout(EXIT_GRACE, write).await.ok().flatten();
        }
        while let Some(id) = next.front_withdrawing() {
            let line = tokio::time::timeout(EXIT_GRACE, self.lines.next_line()).await;
            let answered = match line {
                Ok(Ok(Some(bytes))) => match ChildMessage::parse_line(&bytes) {
                    Ok(ChildMessage::Withdrawn { id: got }) if got == id => {
                        tracing::info!(task = %id, pid = self.pid, "withdrew a queued task from its child before it started");
                        next.withdrawn(&id)
                    }
                    _ => false,
                },
                _ => false,
            };
            if !answered {
                // It started the task (or said something else): it runs what must not run.
                tracing::info!(task = %id, pid = self.pid, "a withdrawn task started on its child; the child is killed");
                next.poison();
                return;
            }
        }
    }
}
