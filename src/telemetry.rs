//! Logging on stderr, filtered by `SCIDAY_LOG` (or `RUST_LOG`): readable lines on a terminal,
//! one JSON object a line for a log collector, and never colour codes in a file or a pipe.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Default filter: our own events at info, the database drivers only when they complain.
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,tower_http=info";

/// How log records are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line a record (coloured on a terminal).
    Text,
    /// One JSON object a line, with the record's fields at the top level.
    Json,
}

impl LogFormat {
    /// Text when stderr is a terminal, where a person reads it; JSON otherwise, where a
    /// program collects it.
    pub fn for_stderr() -> Self {
        if std::io::stderr().is_terminal() {
            Self::Text
        } else {
            Self::Json
        }
    }
}

/// Installs the global subscriber; later calls do nothing. `quiet` drops the default to
/// warnings (benchmarks, where a line per request would be measured too); `format` defaults
/// to [`LogFormat::for_stderr`].
pub fn init(quiet: bool, format: Option<LogFormat>) {
    let filter = std::env::var("SCIDAY_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(if quiet { "warn" } else { DEFAULT_FILTER }));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format.unwrap_or_else(LogFormat::for_stderr) {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_ansi(false).try_init(),
    };
    std::panic::set_hook(Box::new(log_panic));
}

/// Longest panic message logged: a message may quote what a client sent.
const PANIC_MESSAGE_MAX: usize = 200;

/// A panic becomes one error line in the log, inside the span of the request that caused it
/// (the server answers 500 and goes on), instead of a backtrace that anyone could make the
/// service write again and again.
fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    let message: String = message.chars().take(PANIC_MESSAGE_MAX).collect();
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_default();
    tracing::error!(%location, "panic: {message}");
}
