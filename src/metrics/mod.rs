//! What the service counts for Prometheus: the names and labels of every metric, the recorder
//! they go to, and the text a scrape of `/metrics` reads.
//!
//! Counters and histograms are recorded where things happen (a request answered, a feed
//! rendered, a message delivered) into one recorder per process. What is a state rather than
//! an event (the outbox's depth, the database pools) is read when a scrape asks, from the
//! instance that answers it, and written with [`exposition`]: the outbox is shared by every
//! instance, so no instance could keep its count in memory.

pub mod exposition;

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered: `route` (the route template, or `unmatched`), `method`, `status`.
pub const HTTP_REQUESTS: &str = "sciday_http_requests_total";
/// Time from a request's arrival to its answer's header, with the labels of [`HTTP_REQUESTS`].
pub const HTTP_DURATION: &str = "sciday_http_request_duration_seconds";
/// Lookups of rendered feeds and pages: `cache` (`feed`, `page`), `result` (`hit`, `miss`).
pub const CACHE_LOOKUPS: &str = "sciday_cache_lookups_total";
/// Time to produce a feed or page on a miss (its rows read and its text written): `cache`.
pub const RENDER_DURATION: &str = "sciday_render_duration_seconds";
/// Outcomes of webhook deliveries: `platform`, `result`, `reason`.
pub const DELIVERIES: &str = "sciday_webhook_deliveries_total";
/// How long after its due time a reminder was accepted by its receiver: `platform`.
pub const REMINDER_LATENESS: &str = "sciday_reminder_lateness_seconds";
/// Assignments refused, once per broken rule: `rule`.
pub const REFUSALS: &str = "sciday_assignment_refusals_total";
/// Time taken to begin a transaction that writes (waiting for a connection included).
pub const DB_BEGIN_WAIT: &str = "sciday_db_begin_wait_seconds";

/// Messages in the outbox, read at scrape time: `status` (`pending`, `sending`), `platform`.
pub const OUTBOX: &str = "sciday_outbox_messages";
/// Pending messages whose time has come (the backlog), read at scrape time: `platform`.
pub const OUTBOX_DUE: &str = "sciday_outbox_due_messages";
/// Database connections of this instance: `pool` (`read`, `write`, or `shared`), `state`
/// (`in_use`, `idle`).
pub const DB_CONNECTIONS: &str = "sciday_db_connections";
/// The most connections each pool of this instance may open: `pool`.
pub const DB_CONNECTIONS_MAX: &str = "sciday_db_connections_max";
/// Write transactions of this instance waiting for a connection to begin, at scrape time.
pub const DB_BEGIN_WAITING: &str = "sciday_db_begin_waiting";

/// Buckets for request, render and database times: a millisecond to ten seconds.
const SECONDS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets for reminder lateness: a tenth of a second to an hour.
const LATENESS: [f64; 13] = [
    0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// How often histograms are folded in when nobody scrapes, so their samples do not pile up.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use. `None` when another recorder was installed
/// first (then `/metrics` shows only what is read at scrape time).
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match install() {
            Ok(handle) => {
                describe();
                Some(handle)
            }
            Err(error) => {
                tracing::warn!(%error, "metrics are not recorded: another recorder is installed");
                None
            }
        })
        .as_ref()
}

fn install() -> Result<PrometheusHandle, metrics_exporter_prometheus::BuildError> {
    let mut builder = PrometheusBuilder::new();
    for name in [HTTP_DURATION, RENDER_DURATION, DB_BEGIN_WAIT] {
        builder = builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), &SECONDS)?;
    }
    builder
        .set_buckets_for_metric(Matcher::Full(REMINDER_LATENESS.to_owned()), &LATENESS)?
        .install_recorder()
}

/// The `# HELP` lines of the recorded metrics.
fn describe() {
    use metrics::Unit;
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status"
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by route template, method and status"
    );
    metrics::describe_counter!(
        CACHE_LOOKUPS,
        "Lookups of rendered feeds and pages, by cache and result"
    );
    metrics::describe_histogram!(
        RENDER_DURATION,
        Unit::Seconds,
        "Time to read and render a feed or page that was not cached"
    );
    metrics::describe_counter!(DELIVERIES, "Webhook delivery outcomes, by platform, result and reason");
    metrics::describe_histogram!(
        REMINDER_LATENESS,
        Unit::Seconds,
        "How long after its due time a reminder was accepted by its receiver"
    );
    metrics::describe_counter!(REFUSALS, "Assignment refusals, once per broken rule");
    metrics::describe_histogram!(
        DB_BEGIN_WAIT,
        Unit::Seconds,
        "Time to begin a write transaction, waiting for a connection included"
    );
}

/// What the recorder holds, in the Prometheus text format (empty without a recorder).
pub fn recorded() -> String {
    handle().map(PrometheusHandle::render).unwrap_or_default()
}

/// Folds recorded histogram samples in until `stop` fires (a scrape does the same).
pub async fn upkeep(stop: tokio_util::sync::CancellationToken) {
    let Some(handle) = handle() else { return };
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = every.tick() => handle.run_upkeep(),
        }
    }
}

/// A cache of rendered bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    /// Calendar feeds.
    Feed,
    /// Public pages.
    Page,
}

impl Cache {
    fn label(self) -> &'static str {
        match self {
            Self::Feed => "feed",
            Self::Page => "page",
        }
    }
}

/// A request found a rendered body in `cache` (`hit`), or had it rendered.
pub fn looked_up(cache: Cache, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!(CACHE_LOOKUPS, "cache" => cache.label(), "result" => result).increment(1);
}

/// A body for `cache` took `took` to read and render.
pub fn rendered(cache: Cache, took: Duration) {
    metrics::histogram!(RENDER_DURATION, "cache" => cache.label()).record(took);
}

/// An assignment was refused: each broken rule counts once.
pub fn refused(violations: &[crate::domain::staffing::Violation]) {
    for violation in violations {
        metrics::counter!(REFUSALS, "rule" => violation.rule.name()).increment(1);
    }
}
