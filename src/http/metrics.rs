//! `/metrics` for Prometheus, and the count and timing of every request answered.
//!
//! `/metrics` needs no token: it names routes, platforms and rules, never a person, a record
//! or a secret, and Prometheus scrapes anonymously. A deployment that keeps it private serves
//! it on a listener of its own (`--metrics-listen`), and the public listener then has no
//! `/metrics` at all.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use entity::kinds::{DeliveryStatus, WebhookFormat};
use sea_orm::{ActiveEnum as _, Iterable as _};

use super::AppState;
use crate::metrics::exposition::{self, Sample};
use crate::metrics::{self as names};
use crate::store::deliveries;

/// The label of requests that matched no route: their paths may carry anything.
pub const UNMATCHED: &str = "unmatched";

/// The longest a scrape waits for the outbox count; past it the outbox gauges are left out.
const OUTBOX_BUDGET: Duration = Duration::from_secs(2);

/// The route serving the scrape.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

/// Counts and times a request under its route template (never its path, which may carry a
/// personal token), its method and its status.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let method = method_label(request.method());
    let response = next.run(request).await;
    let labels = [
        ("route", route),
        ("method", method.to_owned()),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(names::HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(names::HTTP_DURATION, &labels).record(started.elapsed());
    response
}

/// A method as a label: the standard ones by name, any other as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// What the recorder holds, then the outbox and the database pools as they are now.
async fn scrape(State(state): State<AppState>) -> Response {
    let mut text = names::recorded();
    let now = state.clock.now();
    match tokio::time::timeout(OUTBOX_BUDGET, deliveries::depth(state.db.reader(), now)).await {
        Ok(Ok(depth)) => outbox(&mut text, &depth),
        Ok(Err(error)) => tracing::warn!(%error, "could not count the outbox for /metrics"),
        Err(_) => tracing::warn!("counting the outbox for /metrics took too long; left out"),
    }
    pools(&mut text, &state.db);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The outbox gauges, every state and platform written (zero included), so a series that
/// empties reads zero rather than disappearing.
fn outbox(text: &mut String, depth: &[deliveries::Depth]) {
    let mut messages = Vec::new();
    let mut due = Vec::new();
    for format in WebhookFormat::iter() {
        let platform = format.to_value();
        let of = |status| depth.iter().filter(move |d| d.format == format && d.status == status);
        for status in [DeliveryStatus::Pending, DeliveryStatus::Sending] {
            let count: i64 = of(status).map(|d| d.messages).sum();
            messages.push(Sample::new(
                &[("status", &status.to_value()), ("platform", &platform)],
                count as f64,
            ));
        }
        let count: i64 = of(DeliveryStatus::Pending).map(|d| d.due).sum();
        due.push(Sample::new(&[("platform", &platform)], count as f64));
    }
    exposition::gauge(
        text,
        names::OUTBOX,
        "Webhook messages in the outbox, by status and platform",
        &messages,
    );
    exposition::gauge(
        text,
        names::OUTBOX_DUE,
        "Pending webhook messages whose time has come, by platform",
        &due,
    );
}

/// The database gauges of this instance.
fn pools(text: &mut String, db: &crate::db::Db) {
    let pools = db.pools();
    let connections: Vec<Sample> = pools
        .iter()
        .flat_map(|p| {
            [
                Sample::new(&[("pool", p.pool), ("state", "in_use")], p.in_use),
                Sample::new(&[("pool", p.pool), ("state", "idle")], p.idle),
            ]
        })
        .collect();
    let max: Vec<Sample> = pools.iter().map(|p| Sample::new(&[("pool", p.pool)], p.max)).collect();
    exposition::gauge(
        text,
        names::DB_CONNECTIONS,
        "Database connections of this instance, by pool and state",
        &connections,
    );
    exposition::gauge(
        text,
        names::DB_CONNECTIONS_MAX,
        "The most database connections each pool of this instance may open",
        &max,
    );
    let waiting = u32::try_from(db.waiting()).unwrap_or(u32::MAX);
    exposition::gauge(
        text,
        names::DB_BEGIN_WAITING,
        "Write transactions of this instance waiting for a database connection to begin",
        &[Sample::new(&[], waiting)],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"PROPFIND").unwrap()), "other");
    }

    #[test]
    fn every_platform_and_state_of_the_outbox_is_written_even_when_empty() {
        let depth = [deliveries::Depth {
            status: DeliveryStatus::Pending,
            format: WebhookFormat::DingTalk,
            messages: 5,
            due: 2,
        }];
        let mut text = String::new();
        outbox(&mut text, &depth);
        assert!(
            text.contains("sciday_outbox_messages{status=\"pending\",platform=\"dingtalk\"} 5\n"),
            "{text}"
        );
        assert!(
            text.contains("sciday_outbox_messages{status=\"sending\",platform=\"dingtalk\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("sciday_outbox_messages{status=\"pending\",platform=\"slack\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("sciday_outbox_due_messages{platform=\"dingtalk\"} 2\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("sciday_outbox_messages{").count(),
            2 * WebhookFormat::iter().count()
        );
    }
}
