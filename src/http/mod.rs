//! The HTTP API: one module per resource, each with its `router()`, handlers and DTOs.
//! Handlers extract, call `domain` and `store`, and map the result; no SQL lives here.

mod activities;
mod assignments;
mod audit;
mod deliveries;
mod docs;
mod download;
mod extract;
pub(crate) mod feeds;
mod gate;
mod health;
mod hours;
pub mod metrics;
mod openapi;
mod organizations;
mod paging;
mod patch;
mod plans;
mod programs;
mod required;
mod roles;
mod scope;
pub mod server;
mod sessions;
mod teams;
mod tokens;
mod venues;
mod volunteers;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::Clock;
use crate::correlation::RequestId;
use crate::db::Db;
use crate::error::Error;
use crate::feeds::service::{Feeds, Target};
use crate::store::etag;

pub use extract::parse_json;

/// What the HTTP layer needs to know of the configuration.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Time a volunteer needs between sessions at different venues.
    pub travel_buffer: chrono::TimeDelta,
    /// Which addresses webhooks may reach.
    pub webhook_addresses: crate::domain::webhook::AddressPolicy,
    /// Whether this listener serves `/metrics` (not when it has a listener of its own).
    pub metrics: bool,
}

/// Shared by every handler: cloned for every request (by each middleware and handler that
/// takes it), so it is one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state shared by every request.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What every handler can reach.
pub struct Shared {
    /// The database.
    pub db: Db,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// HTTP settings.
    pub config: Arc<HttpConfig>,
    /// Calendar feeds and their caches.
    pub feeds: Arc<crate::feeds::service::Feeds>,
    /// Sends webhook messages (test messages from the API; the outbox in the background).
    pub dispatcher: Arc<crate::delivery::dispatcher::Dispatcher>,
    /// Tokens whose use this instance recorded a moment ago.
    pub recent_tokens: gate::RecentTokens,
    /// Rendered public pages.
    pub pages: Arc<crate::web::PageCache>,
}

pub use gate::recent_tokens;

impl AppState {
    /// The audit trail's entries of what `actor` changes now.
    pub fn audit(&self, actor: &crate::auth::Actor) -> crate::store::audit::Audit {
        crate::store::audit::Audit::new(crate::store::audit::Author::of(actor), self.clock.now())
    }

    /// The clock and staffing settings for a decision made now.
    pub fn policy(&self) -> crate::store::Policy {
        crate::store::Policy {
            now: self.clock.now(),
            travel_buffer: self.config.travel_buffer,
        }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    let routes: Router<AppState> = api().into();
    let metrics = state.config.metrics.then(metrics::router).unwrap_or_default();
    routes
        .route_layer(gate::GateLayer::new(state.clone()))
        .route_layer(axum::middleware::from_fn(paging::link_next))
        .merge(docs::router())
        .merge(crate::web::router())
        .merge(metrics)
        .fallback(|| async { Error::NotFound("resource") })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(|_| {
            Error::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    // Only method, path and id: headers may carry tokens, and so may feed paths.
                    let path = loggable_path(request.uri().path());
                    let id = request
                        .extensions()
                        .get::<RequestId>()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    tracing::info_span!("request", method = %request.method(), %path, request_id = %id)
                })
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(identify_request))
        .with_state(state)
}

/// The header that carries a request's id, in both directions.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives each request an id (the one a proxy in front sent, when it is plain, else a new
/// one), serves the request as that id, and returns it in `X-Request-Id`: it is in every log
/// line of the request, in its problem answers (`instance`) and in the audit entries of its
/// writes.
async fn identify_request(mut request: Request, next: axum::middleware::Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .and_then(RequestId::given)
        .unwrap_or_else(RequestId::generate);
    request.extensions_mut().insert(id.clone());
    let header = HeaderValue::from_str(id.as_str()).ok();
    let mut response = crate::correlation::scope(id, next.run(request)).await;
    if let Some(header) = header {
        response.headers_mut().insert(REQUEST_ID, header);
    }
    response
}

/// A request path fit for logs: a personal feed's token is a secret.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    if path.starts_with("/feeds/volunteers/") {
        return std::borrow::Cow::Borrowed("/feeds/volunteers/{token}.ics");
    }
    // A personal page's address is a secret too; what follows the token is not.
    match path.strip_prefix("/v/") {
        Some(rest) => {
            let after = rest.find('/').map_or("", |at| &rest[at..]);
            std::borrow::Cow::Owned(format!("/v/{{token}}{after}"))
        }
        None => std::borrow::Cow::Borrowed(path),
    }
}

/// Every documented route, for the router and for the OpenAPI document alike.
pub fn api() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .merge(organizations::router())
        .merge(venues::router())
        .merge(programs::router())
        .merge(activities::router())
        .merge(sessions::router())
        .merge(roles::router())
        .merge(assignments::router())
        .merge(hours::router())
        .merge(teams::router())
        .merge(volunteers::router())
        .merge(tokens::router())
        .merge(webhooks::router())
        .merge(deliveries::router())
        .merge(plans::router())
        .merge(audit::router());
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", v1)
        .routes(routes!(feeds::feed))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::openapi_document))
}

/// The OpenAPI document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = api().into_openapi();
        // Applied last, once every handler has added its schemas and parameters.
        utoipa::Modify::modify(&openapi::InputRules, &mut document);
        utoipa::Modify::modify(&openapi::UniformAnswers, &mut document);
        document
    })
}

/// The OpenAPI document as JSON, built once.
pub fn openapi_json() -> &'static str {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JSON.get_or_init(|| serde_json::to_string_pretty(&openapi::finish(document())).unwrap_or_default())
}

/// The zone a day in `from`/`to` is read in: the program's, else the venue's, else the
/// zone of China's programs.
pub(super) async fn window_zone(
    conn: &impl sea_orm::ConnectionTrait,
    program_id: Option<i64>,
    venue_id: Option<i64>,
) -> crate::error::Result<crate::domain::zone::Zone> {
    if let Some(id) = program_id {
        return Ok(crate::domain::zone::Zone::from_stored(
            &crate::store::programs::get(conn, id)
                .await
                .map_err(as_field("program_id"))?
                .time_zone,
        ));
    }
    if let Some(id) = venue_id {
        return Ok(crate::domain::zone::Zone::from_stored(
            &crate::store::venues::get(conn, id)
                .await
                .map_err(as_field("venue_id"))?
                .time_zone,
        ));
    }
    Ok(crate::domain::zone::Zone::from_stored("Asia/Shanghai"))
}

/// A record's feed link and its `webcal://` twin, as API outputs carry them.
fn feed_links(feeds: &Feeds, target: Target) -> (String, String) {
    (feeds.feed_url(&target), feeds.webcal_url(&target))
}

/// A JSON body with the resource's ETag.
fn with_etag(version: i32, body: impl serde::Serialize) -> Response {
    let mut response = axum::Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// 201 with the new resource, its ETag and its location.
fn created(location: String, version: i32, body: impl serde::Serialize) -> Response {
    let mut response = with_etag(version, body);
    *response.status_mut() = StatusCode::CREATED;
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Maps "the record a field refers to does not exist" to a 422 on that field.
fn as_field(field: &'static str) -> impl FnOnce(Error) -> Error {
    move |error| match error {
        Error::NotFound(what) => Error::field(field, "not_found", format!("there is no such {what}")),
        other => other,
    }
}

/// How long the server waits for in-flight requests at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn logged_paths_never_carry_a_personal_token() {
        let token = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            loggable_path(&format!("/feeds/volunteers/{token}.ics")),
            "/feeds/volunteers/{token}.ics"
        );
        assert_eq!(loggable_path(&format!("/v/{token}")), "/v/{token}");
        assert_eq!(
            loggable_path(&format!("/v/{token}/teams/3/actions")),
            "/v/{token}/teams/3/actions"
        );
        assert_eq!(loggable_path("/programs/1"), "/programs/1");
    }
}
