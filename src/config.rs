//! Typed configuration of the service. Every setting has a command-line flag and a
//! `SCIDAY_*` environment variable (see `sciday --help`); the defaults suit one machine.

use std::net::SocketAddr;

use crate::db::DatabaseUrl;

/// Where the service listens by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The embedded default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://sciday.db";
/// Largest request body by default (1 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// Database connections per instance by default.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// Everything `sciday serve` needs to run. `Debug` never shows the database password.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// A separate address for `/metrics`, which the main listener then does not serve.
    pub metrics_listen: Option<SocketAddr>,
    /// Database to use.
    pub database_url: DatabaseUrl,
    /// Database connections for reading (and, on PostgreSQL, writing).
    pub max_connections: u32,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// Time a volunteer needs between sessions at different venues.
    pub travel_buffer: chrono::TimeDelta,
    /// How calendar feeds are published.
    pub feeds: crate::feeds::service::FeedSettings,
    /// Which addresses webhooks may reach: public ones, and these ranges.
    pub webhook_addresses: crate::domain::webhook::AddressPolicy,
    /// How webhook messages are sent; `run_dispatcher` says whether this instance sends the
    /// outbox in the background.
    pub dispatch: crate::delivery::dispatcher::Settings,
    /// Whether this instance sends the outbox (off for an API-only instance, and in tests that
    /// dispatch step by step).
    pub run_dispatcher: bool,
    /// How long connections may idle or take to send a header, and how many there may be.
    pub connections: crate::http::server::ConnectionLimits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080))),
            metrics_listen: None,
            database_url: DatabaseUrl::new(DEFAULT_DATABASE_URL),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            body_limit: DEFAULT_BODY_LIMIT,
            travel_buffer: crate::domain::staffing::DEFAULT_TRAVEL_BUFFER,
            feeds: crate::feeds::service::FeedSettings::default(),
            webhook_addresses: crate::domain::webhook::AddressPolicy::default(),
            dispatch: crate::delivery::dispatcher::Settings::default(),
            run_dispatcher: true,
            connections: crate::http::server::ConnectionLimits::default(),
        }
    }
}
