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
}
