//! Logging to stderr with `tracing`; `STEM_LOG` (or `RUST_LOG`) sets the filter, default `info`.
//! `--log-format json` (`STEM_LOG_FORMAT=json`) writes one JSON object a line, with the fields
//! of the spans around each event (a task's id, name, attempt and trace id on its lines).

use std::io::IsTerminal;
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// The format chosen at start (text until [`init_with`] is called).
pub fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

pub fn init() {
    init_with(LogFormat::Text)
}

pub fn init_with(format: LogFormat) {
    let _ = FORMAT.set(format);
    let filter = std::env::var("STEM_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
