//! `exec` tasks: any program, no SDK. The envelope goes to its stdin as JSON and `STEM_*`
//! variables describe the task; its stdout (capped) is the result, JSON when it parses; exit 0
//! is success, anything else a failure carrying the stderr tail.

use super::limits::{
    forced_outcome, listening, next_stop, sleep_until_opt, Forced, Limits, StopReceiver,
    StopRequest,
};
use super::spawn::{spawn, spawn_error, SpawnSpec};
use super::stderr::StderrTail;
use super::unix::{describe_exit, signal_group};
use super::{EventSink, ExecEvent, RunOutcome};
use nix::sys::signal::Signal;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use stem_protocol::{TaskEnvelope, TaskError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// Bytes of stdout kept as an `exec` task's result; the rest is drained and counted.
pub const STDOUT_CAP: usize = 1024 * 1024;

/// The largest `STEM_ARGS` / `STEM_KWARGS` value passed in the environment. The kernel takes at
/// most 128 KiB per variable and about 2 MiB for all of them; a bigger value is left out, named
/// in `STEM_ARGS_OMITTED`, and read from the envelope on stdin instead.
pub const ENV_PAYLOAD_MAX: usize = 64 * 1024;

/// Runs one `exec` task to completion (or to its limits).
pub async fn run_exec(
    mut spec: SpawnSpec,
    envelope: &TaskEnvelope,
    limits: Limits,
    events: &EventSink,
    stop: &mut StopReceiver,
) -> RunOutcome {
    spec.env.insert("STEM_TASK_ID".into(), envelope.id.clone());
    spec.env
        .insert("STEM_TASK_NAME".into(), envelope.name.clone());
    spec.env
        .insert("STEM_ATTEMPT".into(), envelope.attempt.to_string());
    spec.env.insert("STEM_QUEUE".into(), envelope.queue.clone());
    // The trace the program's own spans join: the worker's span when it traces, else the
    // producer's context.
    let parent = envelope.headers.get(stem_protocol::trace::HEADER);
    if let Some(parent) = parent.filter(|p| stem_protocol::trace::TraceParent::parse(p).is_some()) {
        spec.env.insert("TRACEPARENT".into(), parent.clone());
    }
    let mut omitted = Vec::new();
    for (name, value) in [
        ("STEM_ARGS", Value::Array(envelope.args.clone()).to_string()),
        (
            "STEM_KWARGS",
            Value::Object(envelope.kwargs.clone()).to_string(),
        ),
    ] {
        if value.len() > ENV_PAYLOAD_MAX {
            omitted.push(name);
        } else {
            spec.env.insert(name.into(), value);
        }
    }
    if !omitted.is_empty() {
        spec.env
            .insert("STEM_ARGS_OMITTED".into(), omitted.join(","));
    }
    let (mut child, tree) = match spawn(&spec) {
        Ok(c) => c,
        Err(e) => {
            return RunOutcome {
                result: Err(spawn_error(&e)),
                stderr: String::new(),
                forced: None,
                healthy: false,
            }
        }
    };
    let pid = child.id().unwrap_or(0);
    events.send(ExecEvent::Started { pid });
    let stderr = StderrTail::pump(child.stderr.take().expect("piped"), pid);
    stderr.begin(&envelope.id);
    let captured = Captured::default();
    let stdout = tokio::spawn(collect_capped(
        child.stdout.take().expect("piped"),
        captured.clone(),
    ));
    if let Some(mut stdin) = child.stdin.take() {
        let body = envelope.to_json();
        // Writing in its own task: a program that never reads stdin must not block us.
        tokio::spawn(async move {
            let _ = stdin.write_all(body.as_bytes()).await;
            let _ = stdin.write_all(b"\n").await;
        });
    }
    let mut limits = limits;
    let mut soft_sent = false;
    let mut soft_taken = false;
    let mut forced: Option<Forced> = None;
    let mut kill_at: Option<Instant> = None;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            _ = sleep_until_opt(limits.soft_at), if !soft_sent => {
                soft_sent = true;
                let what = limits.soft_limit(pid);
                tracing::info!(task = %envelope.id, "soft time limit: {what}");
            }
            _ = sleep_until_opt(limits.hard_at), if forced.is_none() => {
                forced = Some(Forced::HardLimit);
                tree.kill_all();
            }
            request = next_stop(stop), if forced.is_none() && listening(stop, soft_taken) => match request {
                StopRequest::Soft => {
                    soft_taken = true;
                    if !soft_sent {
                        limits.soft_at = Some(Instant::now());
                    }
                }
                StopRequest::Terminate { grace } => {
                    forced = Some(Forced::Revoked);
                    signal_group(pid, Signal::SIGTERM);
                    kill_at = Some(Instant::now() + grace);
                }
                _ => {
                    forced = Some(Forced::Shutdown);
                    tree.kill_all();
                }
            },
            _ = sleep_until_opt(kill_at) => {
                kill_at = None;
                tree.kill_all();
            }
        }
    };
    // The task is over with its main process. Whatever it left running (`sleep 1000 &`, a
    // `setsid` daemon, a double fork) goes with it, and stdout is read to its end: no process
    // holds it open any more (a holder the tree walk missed is waited for `DRAIN_GRACE` only).
    tree.kill_all();
    let (out, total) = match tokio::time::timeout(DRAIN_GRACE, stdout).await {
        Ok(done) => done.unwrap_or_default(),
        Err(_) => captured.take(),
    };
    stderr.wait_closed(std::time::Duration::from_secs(2)).await;
    let tail = stderr.tail();
    if let Some(f) = forced {
        return forced_outcome(f, limits, tail);
    }
    let result = match status {
        Ok(s) if s.success() => Ok(parse_output(&out, total)),
        Ok(s) if soft_sent => Err(limits.soft_exceeded(
            &format!("`{}` {}", spec.display(), describe_exit(s)),
            tail.clone(),
        )),
        Ok(s) => {
            let mut message = format!("`{}` {}", spec.display(), describe_exit(s));
            if let Some(last) = tail.lines().rev().find(|l| !l.trim().is_empty()) {
                message.push_str(&format!(": {}", last.trim()));
            }
            Err(TaskError::new("ExitStatus", message).with_traceback(tail.clone()))
        }
        Err(e) => Err(TaskError::new(
            "ChildExited",
            format!("cannot wait for the program: {e}"),
        )),
    };
    RunOutcome {
        result,
        stderr: tail,
        forced: None,
        healthy: true,
    }
}

/// How long stdout is still read after the task's main process ended and its tree was killed.
pub const DRAIN_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// The stdout read so far (the first `STDOUT_CAP` bytes, and the total), shared with the reader
/// so it can be taken when the reader is given up on.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<(Vec<u8>, usize)>>);

impl Captured {
    fn take(&self) -> (Vec<u8>, usize) {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Reads a stream to the end, keeping the first `STDOUT_CAP` bytes; returns them and the total.
async fn collect_capped<R: tokio::io::AsyncRead + Unpin>(
    mut reader: R,
    captured: Captured,
) -> (Vec<u8>, usize) {
    let mut chunk = vec![0u8; 16384];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut c = captured.0.lock().unwrap_or_else(|p| p.into_inner());
                c.1 += n;
                let room = STDOUT_CAP.saturating_sub(c.0.len());
                c.0.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
    captured.take()
}

/// stdout as a result: JSON when the whole output parses, else the text without its trailing
/// newline (marked when it was cut at the cap).
fn parse_output(out: &[u8], total: usize) -> Value {
    if total <= out.len() {
        if let Ok(v) = serde_json::from_slice::<Value>(out) {
            return v;
        }
    }
    let mut text = String::from_utf8_lossy(out).into_owned();
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if total > out.len() {
        text.push_str(&format!("… [output cut at {} of {total} bytes]", out.len()));
    }
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_json_when_it_parses() {
        assert_eq!(
            parse_output(b"{\"a\": 1}\n", 9),
            serde_json::json!({"a": 1})
        );
        assert_eq!(
            parse_output(b"hello t1\n", 9),
            Value::String("hello t1".into())
        );
        let cut = parse_output(b"abc", 10);
        assert!(cut.as_str().unwrap().contains("cut at 3 of 10"));
    }
}
