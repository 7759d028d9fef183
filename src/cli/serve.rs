//! `sciday serve`: the HTTP API, with the sample program on `--demo`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use clap::Args;
use entity::kinds::Role;

use super::{DEMO_TOKEN_NAME, PoolArgs, SAMPLE_PROGRAM, StaffingArgs, describe};
use crate::app::{self, App};
use crate::clock::{Clock, SystemClock};
use crate::config::{self, Config};
use crate::db::DatabaseUrl;
use crate::feeds::service::FeedSettings;
use crate::http::server::ConnectionLimits;
use crate::store::audit::{Audit, Author};
use crate::store::tokens::{self, Grant};
use crate::store::{self, Policy};
use crate::transfer::{self, Document};

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SCIDAY_LISTEN", default_value = config::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Serve `/metrics` on this address only (a private one, say) instead of on `--listen`.
    #[arg(long, env = "SCIDAY_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Largest request body in bytes.
    #[arg(long, env = "SCIDAY_BODY_LIMIT", default_value_t = config::DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// Loads the sample Lianyungang 2019 program into an empty database and prints an admin
    /// token; a database that holds data is left as it is (a restart changes nothing).
    #[arg(long, env = "SCIDAY_DEMO")]
    demo: bool,
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    staffing: StaffingArgs,
    #[command(flatten)]
    feeds: FeedArgs,
    /// Address ranges (CIDR, comma-separated) webhooks may reach besides public addresses:
    /// an on-premise receiver, say. Loopback, private and link-local addresses are refused
    /// unless listed here.
    #[arg(long, env = "SCIDAY_WEBHOOK_ALLOW", value_delimiter = ',')]
    webhook_allow: Vec<ipnet::IpNet>,
    /// Milliseconds a webhook receiver has to answer.
    #[arg(long, env = "SCIDAY_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=120_000))]
    webhook_timeout_ms: u64,
    /// Serve the API without sending webhooks (another instance sends them).
    #[arg(long, env = "SCIDAY_NO_DISPATCHER")]
    no_dispatcher: bool,
    /// This instance's name for the webhook deliveries it claims: a process restarting under
    /// the same name takes its predecessor's claims back at once. Default: host name and port.
    #[arg(long, env = "SCIDAY_INSTANCE_ID")]
    instance_id: Option<String>,
    /// Seconds after which another instance takes over webhook deliveries whose dispatcher
    /// stopped renewing its claim (it renews three times in that span while it sends and records).
    #[arg(long, env = "SCIDAY_DELIVERY_TAKEOVER_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..=600))]
    delivery_takeover_secs: u64,
    /// Milliseconds notices to one chat robot are gathered for, to go out as one message.
    #[arg(long, env = "SCIDAY_WEBHOOK_GATHER_MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    webhook_gather_ms: u64,
    /// Seconds a client has, from a request's first byte, to send its whole header.
    #[arg(long, env = "SCIDAY_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    header_read_timeout_secs: u64,
    /// Seconds a connection may wait between requests before it is closed.
    #[arg(long, env = "SCIDAY_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    idle_timeout_secs: u64,
    /// Client connections open at once (more wait to be accepted); lowered to fit the
    /// process's open-file limit.
    #[arg(long, env = "SCIDAY_CONNECTION_LIMIT", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    connection_limit: u64,
    /// Days the webhook delivery log keeps a message after it settled (31–3650).
    #[arg(long, env = "SCIDAY_DELIVERY_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u16).range(31..=3650))]
    delivery_retention_days: u16,
    /// Days the audit trail keeps an entry (31–3650).
    #[arg(long, env = "SCIDAY_AUDIT_RETENTION_DAYS", default_value_t = 400, value_parser = clap::value_parser!(u16).range(31..=3650))]
    audit_retention_days: u16,
}

#[derive(Debug, Args)]
struct FeedArgs {
    /// The URL clients reach the service at (feed links are built on it and event UIDs carry
    /// its host); by default the listening address.
    #[arg(long, env = "SCIDAY_PUBLIC_URL", value_parser = public_url)]
    public_url: Option<String>,
    /// Days before today that a feed starts at, unless the request says otherwise.
    #[arg(long, env = "SCIDAY_FEED_PAST_DAYS", default_value_t = 30)]
    feed_past_days: u32,
    /// Days after today that a feed ends at, unless the request says otherwise.
    #[arg(long, env = "SCIDAY_FEED_FUTURE_DAYS", default_value_t = 400)]
    feed_future_days: u32,
    /// The most events one feed may hold; a request for more is refused with a problem that
    /// names narrower feeds (100–100000).
    #[arg(long, env = "SCIDAY_FEED_MAX_EVENTS", default_value_t = 5000, value_parser = clap::value_parser!(u32).range(100..=100_000))]
    feed_max_events: u32,
    /// Days after its end that a cancelled session stays in feeds, marked cancelled.
    #[arg(long, env = "SCIDAY_FEED_CANCELLED_DAYS", default_value_t = 30)]
    feed_cancelled_days: u32,
    /// Memory for rendered feeds, in MiB (events rendered for them get half as much again).
    #[arg(long, env = "SCIDAY_FEED_CACHE_MIB", default_value_t = 64)]
    feed_cache_mib: u64,
    /// Milliseconds a feed's ETag is trusted before the database is asked again while other
    /// instances' writes are not heard (on SQLite; on PostgreSQL instances tell each other
    /// at once, and this becomes 30 seconds, for writes made by commands run beside them).
    #[arg(long, env = "SCIDAY_FEED_RECHECK_MS", default_value_t = 1000)]
    feed_recheck_ms: u32,
}

impl FeedArgs {
    fn settings(&self) -> FeedSettings {
        FeedSettings {
            public_url: self.public_url.clone(),
            past_days: self.feed_past_days,
            future_days: self.feed_future_days,
            max_events: self.feed_max_events,
            cancelled_days: self.feed_cancelled_days,
            cache_bytes: self.feed_cache_mib.saturating_mul(1024 * 1024),
            recheck: TimeDelta::milliseconds(i64::from(self.feed_recheck_ms)),
        }
    }
}

/// An absolute http(s) URL with a host and no query, without its trailing slash.
fn public_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?} must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{text:?} must not have a query or fragment"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// Runs the service until SIGTERM or Ctrl-C.
pub(super) async fn serve(url: DatabaseUrl, args: ServeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let policy = args.staffing.policy();
    let config = Config {
        listen: args.listen,
        metrics_listen: args.metrics_listen,
        database_url: url,
        max_connections: args.pool.max_connections,
        body_limit: args.body_limit,
        travel_buffer: policy.travel_buffer,
        feeds: args.feeds.settings(),
        webhook_addresses: crate::domain::webhook::AddressPolicy::allowing(args.webhook_allow.clone()),
        dispatch: crate::delivery::dispatcher::Settings {
            timeout: Duration::from_millis(args.webhook_timeout_ms),
            retention: chrono::TimeDelta::days(i64::from(args.delivery_retention_days)),
            audit_retention: chrono::TimeDelta::days(i64::from(args.audit_retention_days)),
            takeover: Duration::from_secs(args.delivery_takeover_secs),
            gather: Duration::from_millis(args.webhook_gather_ms),
            instance: args.instance_id.clone().or_else(|| default_instance(args.listen)),
            ..Default::default()
        },
        run_dispatcher: !args.no_dispatcher,
        connections: ConnectionLimits {
            header_read: Duration::from_secs(args.header_read_timeout_secs),
            idle: Duration::from_secs(args.idle_timeout_secs),
            max_connections: usize::try_from(args.connection_limit).unwrap_or(usize::MAX),
        },
    };
    log_settings(&config, &args);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = App::build(&config, Arc::clone(&clock)).await?;
    let address = app.local_addr();
    if address.ip().is_unspecified() && config.feeds.public_url.is_none() {
        let links = app.feeds().public_url().to_owned();
        tracing::warn!(
            listen = %address,
            "listening on every interface without --public-url (SCIDAY_PUBLIC_URL): links in feeds, \
             pages and messages will point at {links}, which other machines cannot reach; set \
             --public-url to the address people use"
        );
    }
    let demo = if args.demo {
        Some(load_demo(&app, policy).await?)
    } else {
        None
    };
    let shutdown = app::shutdown_signal();
    tracing::info!(%address, database = %config.database_url, ready_in_ms = started.elapsed().as_millis(), "sciday is ready");
    let mut banner = format!(
        "sciday listens on http://{address} (database {})\n",
        config.database_url
    );
    if let Some(metrics) = app.metrics_addr() {
        banner.push_str(&format!("metrics at http://{metrics}/metrics\n"));
    }
    match &demo {
        Some(Demo::Loaded { token }) => banner.push_str(&format!("admin token (shown only now; keep it): {token}\n")),
        Some(Demo::AlreadyHeld) => banner.push_str(
            "--demo: the database already holds data, so the sample program was not loaded and \
             nothing was changed; the admin token printed when the sample was loaded still works\n\
             lost it? make another with: sciday token create --role admin (same --database-url)\n",
        ),
        None => {}
    }
    if demo.is_some() {
        banner.push_str(&format!(
            "try: curl http://{address}/api/v1/programs\n     \
             curl 'http://{address}/api/v1/sessions?program_id=1&limit=5'\n     \
             curl 'http://{address}/feeds/programs/1.ics?from=2019-05-01'\n"
        ));
    }
    // Nobody may be reading (a closed pipe); the service runs on regardless.
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
    app.run_until(shutdown).await
}

/// What `--demo` did.
enum Demo {
    /// The database was empty: the sample is loaded, and this admin token made for it.
    Loaded { token: String },
    /// The database already held data (a restart, say), so nothing was loaded or changed.
    AlreadyHeld,
}

/// Loads the sample program and makes an admin token, but only into an empty database: a
/// restart must neither undo what organizers changed since nor lock out the first token.
async fn load_demo(app: &App, policy: Policy) -> anyhow::Result<Demo> {
    if store::holds_data(app.db().reader()).await.map_err(|e| describe(&e))? {
        tracing::info!("--demo: the database already holds data; the sample program was not loaded");
        return Ok(Demo::AlreadyHeld);
    }
    let document: Document = crate::http::parse_json(SAMPLE_PROGRAM.as_bytes()).map_err(|e| describe(&e))?;
    let report = transfer::import(app.db(), &document, policy, &|| {})
        .await
        .map_err(|e| describe(&e))?;
    tracing::info!(
        organizations = %report.organizations,
        sessions = %report.sessions,
        volunteers = %report.volunteers,
        assignments = %report.assignments,
        "--demo: loaded the sample program"
    );
    let txn = app.db().begin().await?;
    let grant = Grant {
        name: DEMO_TOKEN_NAME.to_owned(),
        role: Role::Admin,
        organization_id: None,
        volunteer_id: None,
        expires_at: None,
    };
    let (row, token) = tokens::create(&txn, grant, policy.now).await?;
    Audit::new(Author::cli(), policy.now).created(&txn, &row).await?;
    txn.commit().await?;
    Ok(Demo::Loaded { token })
}

/// One record of the settings the service starts with. The database URL shows no password,
/// and no secret is among the rest.
fn log_settings(config: &Config, args: &ServeArgs) {
    let allowed: Vec<String> = args.webhook_allow.iter().map(ToString::to_string).collect();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        listen = %config.listen,
        database = %config.database_url,
        max_connections = config.max_connections,
        public_url = config.feeds.public_url.as_deref().unwrap_or("(the listening address)"),
        demo = args.demo,
        travel_buffer_minutes = config.travel_buffer.num_minutes(),
        body_limit = config.body_limit,
        feed_past_days = config.feeds.past_days,
        feed_cancelled_days = config.feeds.cancelled_days,
        feed_cache_bytes = config.feeds.cache_bytes,
        dispatcher = config.run_dispatcher,
        instance = config.dispatch.instance.as_deref().unwrap_or("(one of its own)"),
        webhook_allow = %allowed.join(","),
        webhook_timeout_ms = args.webhook_timeout_ms,
        webhook_gather_ms = args.webhook_gather_ms,
        delivery_takeover_secs = args.delivery_takeover_secs,
        delivery_retention_days = args.delivery_retention_days,
        audit_retention_days = args.audit_retention_days,
        connection_limit = config.connections.max_connections,
        header_read_timeout_secs = args.header_read_timeout_secs,
        idle_timeout_secs = args.idle_timeout_secs,
        "starting with these settings"
    );
}

/// An instance's name when none is given: the host's name and the port it listens on, which
/// stay the same when the process restarts on the same host. On a port the system picks
/// (`:0`) a restart listens elsewhere, so the process gets a name of its own.
fn default_instance(listen: SocketAddr) -> Option<String> {
    if listen.port() == 0 {
        return None;
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "sciday".to_owned());
    Some(format!("{host}:{}", listen.port()))
}
