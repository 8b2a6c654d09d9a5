//! The `stem` command line: one file per command group, each parsing its arguments, calling
//! the operation in [`crate::ops`] and printing what it returns (as JSON with `--json`). Every
//! command fails with a one-line reason and a non-zero exit code.

pub mod beat;
pub mod canvas;
pub mod conn;
pub mod control;
pub mod dlq;
pub mod enqueue;
pub mod events;
pub mod health;
pub mod migrate;
pub mod observe;
pub mod output;
pub mod queue;
pub mod result;
pub mod revoke;
pub mod schedule;
pub mod serve;
pub mod tasks;
pub mod wf;
pub mod worker;

use crate::ops::{OpsError, OpsErrorKind};
use clap::{Parser, Subcommand};

/// Exit code for a task that failed (or a check that found something down).
pub const EXIT_FAILED: i32 = 1;
/// Exit code for bad usage, configuration or input.
pub const EXIT_USAGE: i32 = 2;

#[derive(Parser)]
#[command(
    name = "stem",
    // "0.1.0 (commit 5b688a2e1c3d, features: sqlite redis postgres)", made by build.rs.
    version = env!("STEM_VERSION_LINE"),
    about = "Stem: background jobs in any language, each in its own process",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: conn::ConnArgs,
    /// Log lines as text or as one JSON object each (with a task's id, name, attempt and trace
    /// id on its lines).
    #[arg(
        long,
        global = true,
        env = "STEM_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: crate::logging::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a worker (or, with a subcommand, talk to running workers).
    Worker(worker::WorkerCmd),
    /// Publish a task.
    Enqueue(enqueue::EnqueueArgs),
    /// Show a task's state and result.
    Result(result::ResultArgs),
    /// Revoke a task: skip it if it has not started; with --terminate, stop it if it runs.
    Revoke(revoke::RevokeArgs),
    /// Canvases (chain, group, chord): submit a document, show its nodes.
    Canvas(canvas::CanvasCmd),
    /// Check the broker, the result backend and live workers.
    Health(health::HealthArgs),
    /// Dead letters: list, show, replay, purge.
    Dlq(dlq::DlqCmd),
    /// Snapshots: live workers, queue sizes, counters.
    Observe(observe::ObserveCmd),
    /// Tail the task event stream.
    Events(events::EventsArgs),
    /// Apply the Postgres schema migrations.
    Migrate(migrate::MigrateArgs),
    /// Schedules: list, show, apply, delete, enable, disable, dry-run.
    Schedule(schedule::ScheduleCmd),
    /// Publish the fires of the stored schedules (any number may run; one leads).
    Beat(beat::BeatArgs),
    /// Serve the HTTP API.
    Serve(serve::ServeArgs),
    /// Task records: list.
    Tasks(tasks::TasksCmd),
    /// Queues: pause or resume for every worker (stored in the broker), list their sizes.
    #[command(subcommand)]
    Queue(queue::QueueCmd),
    /// Durable workflow runs: start, show, ls, waiters, emit, cancel, rewind.
    Wf(wf::WfCmd),
}

impl Command {
    /// `stem worker` runs on a single-threaded runtime (see `main.rs`); `STEM_RUNTIME_THREADS=1`
    /// or `=multi` overrides that for any command (for measuring one against the other).
    /// The measuring knobs `STEM_RUNTIME_THREADS` (`1` or `multi`), `STEM_PIPELINE` (`0` or
    /// `1`) and `STEM_PIPELINE_DEPTH` (1 to 32: a fixed pipelining depth instead of the
    /// adaptive one), checked before anything runs: a misspelt value is an error, not silently
    /// ignored.
    pub fn check_knobs() -> Result<(), String> {
        if let Ok(v) = std::env::var("STEM_PIPELINE_DEPTH") {
            let max = crate::exec::pool::MAX_DEPTH;
            if !v.parse::<usize>().is_ok_and(|n| (1..=max).contains(&n)) {
                return Err(format!(
                    "STEM_PIPELINE_DEPTH must be a whole number from 1 to {max}, not {v:?}"
                ));
            }
        }
        for (var, allowed) in [
            ("STEM_RUNTIME_THREADS", ["1", "multi"]),
            ("STEM_PIPELINE", ["0", "1"]),
        ] {
            if let Ok(v) = std::env::var(var) {
                if !allowed.contains(&v.as_str()) {
                    return Err(format!(
                        "{var} must be {} or {}, not {v:?}",
                        allowed[0], allowed[1]
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn single_threaded(&self) -> bool {
        match std::env::var("STEM_RUNTIME_THREADS").as_deref() {
            Ok("1") => true,
            Ok("multi") => false,
            _ => matches!(self, Command::Worker(w) if w.command.is_none()),
        }
    }

    /// Whether the command runs until stopped and writes to pipes other than its own output (a
    /// worker to its children, the server to its clients): those keep SIGPIPE ignored and
    /// handle EPIPE where they write. Every other command only prints, so it takes SIGPIPE's
    /// default and ends quietly when its reader goes away (`stem events | head`).
    /// Whether the command writes envelopes or records (and so must be able to sign them when
    /// signing is on); the others only read, and may verify with public keys alone.
    pub fn writes_payloads(&self) -> bool {
        match self {
            Command::Worker(w) => w.command.is_none(),
            Command::Canvas(c) => matches!(c.command, canvas::CanvasCommand::Submit(_)),
            Command::Dlq(d) => matches!(d.command, dlq::DlqSub::Replay { .. }),
            Command::Wf(w) => !matches!(
                w.command,
                wf::WfCommand::Show(_) | wf::WfCommand::Ls(_) | wf::WfCommand::Waiters(_)
            ),
            Command::Enqueue(_) | Command::Revoke(_) | Command::Beat(_) | Command::Serve(_) => true,
            _ => false,
        }
    }

    pub fn serves(&self) -> bool {
        matches!(self, Command::Worker(w) if w.command.is_none())
            || matches!(self, Command::Serve(_) | Command::Beat(_))
    }
}

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_FAILED,
            message: message.into(),
        }
    }
}

impl From<OpsError> for CliError {
    fn from(e: OpsError) -> Self {
        let code = match e.kind() {
            OpsErrorKind::BadInput => EXIT_USAGE,
            OpsErrorKind::NotFound | OpsErrorKind::Unavailable => EXIT_FAILED,
        };
        CliError {
            code,
            message: e.to_string(),
        }
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        CliError::failed(e.to_string())
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

/// Runs the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    // Payload signing and encryption, from STEM_SIGNING_* and STEM_ENCRYPTION_*: every command
    // (producers, workers, readers of results) goes through the same codec.
    match stem_adapters::codec::Security::from_env() {
        Ok(security) => {
            if cli.command.writes_payloads() {
                if let Err(e) = security.check_can_sign() {
                    eprintln!("error: {e}");
                    return EXIT_USAGE;
                }
            }
            stem_adapters::codec::configure(security);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    }
    let result = match cli.command {
        Command::Worker(cmd) => worker::run(&cli.conn, cmd).await,
        Command::Queue(cmd) => queue::run(&cli.conn, cmd).await,
        Command::Enqueue(args) => enqueue::run(&cli.conn, args).await,
        Command::Result(args) => result::run(&cli.conn, args).await,
        Command::Revoke(args) => revoke::run(&cli.conn, args).await,
        Command::Canvas(cmd) => canvas::run(&cli.conn, cmd).await,
        Command::Wf(cmd) => wf::run(&cli.conn, cmd).await,
        Command::Health(args) => health::run(&cli.conn, args).await,
        Command::Dlq(cmd) => dlq::run(&cli.conn, cmd).await,
        Command::Observe(cmd) => observe::run(&cli.conn, cmd).await,
        Command::Events(args) => events::run(&cli.conn, args).await,
        Command::Migrate(args) => migrate::run(&cli.conn, args).await,
        Command::Schedule(cmd) => schedule::run(&cli.conn, cmd).await,
        Command::Beat(args) => beat::run(&cli.conn, args).await,
        Command::Serve(args) => serve::run(&cli.conn, args).await,
        Command::Tasks(cmd) => tasks::run(&cli.conn, cmd).await,
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            let line = e.message.lines().next().unwrap_or("failed").to_string();
            eprintln!("error: {line}");
            e.code
        }
    }
}
