//! Logging: human-readable lines on stderr, filtered by `SCIDAY_LOG` (or `RUST_LOG`).

use tracing_subscriber::EnvFilter;

/// Default filter: our own events at info, the database drivers only when they complain.
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,tower_http=info";

/// Installs the global subscriber; later calls do nothing. `quiet` drops the default to
/// warnings (benchmarks, where a line per request would be measured too).
pub fn init(quiet: bool) {
    let filter = std::env::var("SCIDAY_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(if quiet { "warn" } else { DEFAULT_FILTER }));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
