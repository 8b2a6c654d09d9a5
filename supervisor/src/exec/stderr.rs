//! Pumping a child's stderr: always drained (a chatty child never blocks), each line logged
//! with the id of the task it belongs to — up to [`LOG_BYTES_PER_TASK`] or
//! [`LOG_LINES_PER_TASK`] per task, then one
//! line saying how much was left out — and the tail kept so a failed task carries it. With
//! encryption on, lines are not logged (one line per task says how much was written) unless the
//! operator opts in.

use crate::observe::privacy;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes of stderr kept per task.
pub const TAIL_BYTES: usize = 8 * 1024;

/// Bytes of one task's stderr written to the worker log; the rest is counted, not logged (a
/// task printing 10 MB must not flood the log), and the record still keeps the tail.
pub const LOG_BYTES_PER_TASK: usize = 64 * 1024;

/// Lines of one task's stderr written to the worker log (short lines cost a log prefix each).
pub const LOG_LINES_PER_TASK: usize = 500;

#[derive(Default)]
struct State {
    /// The pump reached the end of the stream.
    closed: bool,
    /// The task the child is running now, for log lines.
    task_id: Option<String>,
    /// Last `TAIL_BYTES` bytes since the current task started.
    tail: Vec<u8>,
    partial: Vec<u8>,
    /// Bytes of the current task's stderr logged, and those left out past the cap.
    logged: usize,
    logged_lines: usize,
    left_out: usize,
    /// Bytes of the current task's stderr kept out of the log (encryption on).
    withheld: usize,
}

impl State {
    /// Logs one line, or counts it once the task's share of the log is used up (or always,
    /// when task output is kept out of the log: see [`privacy`]).
    fn log(&mut self, pid: u32, line: &[u8]) {
        if !privacy::log_task_output() {
            self.withheld += line.len() + 1;
            return;
        }
        if self.logged >= LOG_BYTES_PER_TASK || self.logged_lines >= LOG_LINES_PER_TASK {
            if self.left_out == 0 {
                let task = self.task_id.as_deref().unwrap_or("-");
                tracing::warn!(
                    target: "stem::child",
                    task,
                    pid,
                    "stderr past {LOG_BYTES_PER_TASK} bytes or {LOG_LINES_PER_TASK} lines is not logged for this task (its record keeps the last {TAIL_BYTES} bytes)"
                );
            }
            self.left_out += line.len() + 1;
            return;
        }
        self.logged += line.len() + 1;
        self.logged_lines += 1;
        log_line(&self.task_id, pid, line);
    }

    /// Says how much of the finished task's stderr was left out, and starts a new count.
    fn end_task(&mut self, pid: u32) {
        if self.withheld > 0 {
            let task = self.task_id.as_deref().unwrap_or("-");
            tracing::info!(
                target: "stem::child", task, pid, bytes = self.withheld,
                "wrote to stderr (not logged: encryption is on; {} keeps it sealed, {}=true logs it)",
                "the task's record", privacy::LOG_TASK_OUTPUT
            );
            self.withheld = 0;
        }
        if self.left_out > 0 {
            let task = self.task_id.as_deref().unwrap_or("-");
            tracing::warn!(target: "stem::child", task, pid, left_out = self.left_out, "bytes of stderr not logged");
        }
        self.logged = 0;
        self.logged_lines = 0;
        self.left_out = 0;
    }
}

/// Shared between the pump and the executor.
#[derive(Clone, Default)]
pub struct StderrTail {
    state: Arc<Mutex<State>>,
    closed: Arc<tokio::sync::Notify>,
}

impl StderrTail {
    /// Starts the pump for one child.
    pub fn pump<R: AsyncRead + Unpin + Send + 'static>(reader: R, pid: u32) -> Self {
        let tail = StderrTail::default();
        let shared = tail.clone();
        tokio::spawn(async move {
            let mut reader = reader;
            let mut chunk = vec![0u8; 8192];
            loop {
                match reader.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => shared.push(&chunk[..n], pid),
                }
            }
            shared.flush(pid);
            shared.state.lock().expect("stderr lock").closed = true;
            shared.closed.notify_waiters();
        });
        tail
    }

    /// Waits (up to `limit`) until the child's stderr is fully read, so the tail is complete
    /// after the child has exited.
    pub async fn wait_closed(&self, limit: std::time::Duration) {
        let _ = tokio::time::timeout(limit, async {
            loop {
                let notified = self.closed.notified();
                if self.state.lock().expect("stderr lock").closed {
                    return;
                }
                notified.await;
            }
        })
        .await;
    }

    /// A new task starts on this child: forget the previous task's tail.
    pub fn begin(&self, task_id: &str) {
        let mut s = self.state.lock().expect("stderr lock");
        s.end_task(0);
        s.task_id = Some(task_id.to_string());
        s.tail.clear();
    }

    /// The stderr tail of the current task (lossy UTF-8).
    pub fn tail(&self) -> String {
        let s = self.state.lock().expect("stderr lock");
        let start = s.tail.len().saturating_sub(TAIL_BYTES);
        String::from_utf8_lossy(&s.tail[start..]).into_owned()
    }

    fn push(&self, bytes: &[u8], pid: u32) {
        let mut s = self.state.lock().expect("stderr lock");
        s.tail.extend_from_slice(bytes);
        if s.tail.len() > 2 * TAIL_BYTES {
            let cut = s.tail.len() - TAIL_BYTES;
            s.tail.drain(..cut);
        }
        s.partial.extend_from_slice(bytes);
        while let Some(pos) = s.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = s.partial.drain(..=pos).collect();
            s.log(pid, &line[..line.len() - 1]);
        }
        if s.partial.len() > 4096 {
            let line = std::mem::take(&mut s.partial);
            s.log(pid, &line);
        }
    }

    fn flush(&self, pid: u32) {
        let mut s = self.state.lock().expect("stderr lock");
        if !s.partial.is_empty() {
            let line = std::mem::take(&mut s.partial);
            s.log(pid, &line);
        }
        s.end_task(pid);
    }
}

fn log_line(task_id: &Option<String>, pid: u32, line: &[u8]) {
    let text = String::from_utf8_lossy(&line[..line.len().min(2000)]);
    let task = task_id.as_deref().unwrap_or("-");
    tracing::info!(target: "stem::child", task, pid, "{text}");
}

/// A `log` message of task `task` from its child: logged as it is, or (task output kept out of
/// the log) a line saying one was withheld.
pub fn log_child_line(task: &str, level: &str, message: &str) {
    if privacy::log_task_output() {
        tracing::info!(target: "stem::child", task, level, "{message}");
    } else {
        tracing::info!(
            target: "stem::child", task, level, bytes = message.len(),
            "logged a line (not shown: encryption is on; {}=true logs it)",
            privacy::LOG_TASK_OUTPUT
        );
    }
}
