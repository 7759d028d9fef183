//! `/api/v1/venues`: where sessions happen.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use entity::kinds::VenueKind;
use entity::venue::Model;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, IfMatch, Json, OptionalIfMatch, Query};
use super::openapi::{CreateErrors, DeleteErrors, ListErrors, ReadErrors, UpdateErrors};
use super::paging::{PageOut, page_request, positive_ids, search};
use super::patch::{Change, Patch};
use super::scope::require_organization;
use super::{AppState, created, with_etag};
use super::{Feeds, Target, feed_links};
use crate::auth::Actor;
use crate::domain::field::one;
use crate::domain::geo::Position;
use crate::domain::key::Key;
use crate::domain::text::{self, NAME_MAX};
use crate::domain::zone::Zone;
use crate::error::{Error, Result};
use crate::store::Fields as _;
use crate::store::venues::{self as store, VenueFields, VenueFilter};
use crate::store::{Cursor, check_version};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_venues, create_venue))
        .routes(routes!(get_venue, update_venue, delete_venue))
}

/// Longest address.
const ADDRESS_MAX: usize = 500;

/// A new venue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueIn {
    /// Stable key for imports; generated when absent.
    key: Option<String>,
    /// Name, e.g. 连云港市科技馆.
    name: String,
    address: Option<String>,
    kind: VenueKind,
    /// WGS 84 degrees north; together with `longitude`.
    latitude: Option<f64>,
    /// WGS 84 degrees east; together with `latitude`.
    longitude: Option<f64>,
    /// IANA zone of local times, e.g. Asia/Shanghai.
    time_zone: String,
    /// Managing organization; venues without one are managed by admins (and open to every
    /// organizer's sessions).
    organization_id: Option<i64>,
    /// Lets the other organizations of the owner's programs schedule sessions here; default false.
    #[serde(default)]
    shared: bool,
    /// Invented for sample data.
    #[serde(default)]
    illustrative: bool,
}

/// Changes to a venue.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenuePatch {
    #[serde(default)]
    name: Change<String>,
    #[serde(default)]
    address: Patch<String>,
    #[serde(default)]
    kind: Change<VenueKind>,
    #[serde(default)]
    latitude: Patch<f64>,
    #[serde(default)]
    longitude: Patch<f64>,
    #[serde(default)]
    time_zone: Change<String>,
    #[serde(default)]
    organization_id: Patch<i64>,
    #[serde(default)]
    shared: Change<bool>,
    #[serde(default)]
    illustrative: Change<bool>,
}

/// A venue.
#[derive(Debug, Serialize, ToSchema)]
pub struct VenueOut {
    id: i64,
    key: String,
    name: String,
    address: Option<String>,
    kind: VenueKind,
    latitude: Option<f64>,
    longitude: Option<f64>,
    time_zone: String,
    organization_id: Option<i64>,
    /// Other organizations of the owner's programs may schedule sessions here.
    shared: bool,
    illustrative: bool,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The calendar feed (iCalendar).
    feed_url: String,
    /// The same feed as a `webcal://` link, which calendar apps open as a subscription.
    webcal_url: String,
}

impl VenueOut {
    fn new(model: Model, feeds: &Feeds) -> Self {
        let (feed_url, webcal_url) = feed_links(feeds, Target::Venue(model.id));
        Self {
            feed_url,
            webcal_url,
            id: model.id,
            key: model.key,
            name: model.name,
            address: model.address,
            kind: model.kind,
            latitude: model.latitude,
            longitude: model.longitude,
            time_zone: model.time_zone,
            organization_id: model.organization_id,
            shared: model.shared,
            illustrative: model.illustrative,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// Filters of the venue list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VenueQuery {
    /// Managed by this organization.
    organization_id: Option<i64>,
    kind: Option<VenueKind>,
    /// Text the name contains (Latin letters in either case), up to 64 characters.
    q: Option<String>,
    /// Only those created or changed at or after this instant (RFC 3339 with offset): what a
    /// client keeping a copy has not seen yet.
    updated_since: Option<String>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

/// Lists venues in id order.
#[utoipa::path(
    get,
    path = "/venues",
    tag = "venues",
    params(VenueQuery),
    responses((status = OK, body = PageOut<VenueOut>), ListErrors)
)]
async fn list_venues(State(state): State<AppState>, Query(query): Query<VenueQuery>) -> Result<PageOut<VenueOut>> {
    validate! {
        search = search(query.q.as_deref(), query.updated_since.as_deref()),
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_))),
        _ids = positive_ids(&[("organization_id", query.organization_id)]),
    }
    let filter = VenueFilter {
        organization_id: query.organization_id,
        kind: query.kind,
        search,
    };
    let page = store::list(state.db.reader(), &filter, &page).await?;
    Ok(page.map(|m| VenueOut::new(m, &state.feeds)).into())
}

/// Reads one venue.
#[utoipa::path(
    get,
    path = "/venues/{id}",
    tag = "venues",
    params(("id" = i64, Path)),
    responses((status = OK, body = VenueOut, headers(("ETag" = String))), ReadErrors)
)]
async fn get_venue(State(state): State<AppState>, Id(id): Id) -> Result<Response> {
    let model = store::get(state.db.reader(), id).await?;
    Ok(with_etag(model.version, VenueOut::new(model, &state.feeds)))
}

/// Creates a venue.
#[utoipa::path(
    post,
    path = "/venues",
    tag = "venues",
    request_body = VenueIn,
    security(("bearer" = [])),
    responses((status = CREATED, body = VenueOut, headers(("ETag" = String), ("Location" = String))), CreateErrors)
)]
async fn create_venue(State(state): State<AppState>, actor: Actor, Json(input): Json<VenueIn>) -> Result<Response> {
    validate! {
        key = one(Key::parse_or_generate("key", input.key.as_deref(), "venue")),
        name = one(text::required("name", &input.name, NAME_MAX)),
        address = one(text::optional("address", input.address.as_deref(), ADDRESS_MAX)),
        position = Position::parse(input.latitude, input.longitude),
        zone = one(Zone::parse("time_zone", &input.time_zone)),
    }
    let txn = state.db.begin().await?;
    require_venue_manager(&txn, &actor, input.organization_id, "organization_id").await?;
    let fields = VenueFields {
        name,
        address,
        kind: input.kind,
        position,
        zone,
        organization_id: input.organization_id,
        shared: input.shared,
        illustrative: input.illustrative,
    };
    let model = store::insert(&txn, key, fields, state.clock.now()).await?;
    state.audit(&actor).created(&txn, &model).await?;
    txn.commit().await?;
    Ok(created(
        format!("/api/v1/venues/{}", model.id),
        model.version,
        VenueOut::new(model, &state.feeds),
    ))
}

/// Updates a venue (JSON merge patch). Needs `If-Match`.
#[utoipa::path(
    patch,
    path = "/venues/{id}",
    tag = "venues",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "ETag of the version being changed, or *")),
    request_body(content = VenuePatch, content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses((status = OK, body = VenueOut, headers(("ETag" = String))), UpdateErrors)
)]
async fn update_venue(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    IfMatch(precondition): IfMatch,
    Json(patch): Json<VenuePatch>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    require_venue_manager(&txn, &actor, current.organization_id, "this venue").await?;
    check_version(&precondition, current.version)?;
    let old = VenueFields::of(&current);
    let kind = patch.kind.apply(old.kind);
    let illustrative = patch.illustrative.apply(old.illustrative);
    validate! {
        name = one(text::required("name", &patch.name.apply(old.name.clone()), NAME_MAX)),
        address = one(text::optional("address", patch.address.apply(old.address.clone()).as_deref(), ADDRESS_MAX)),
        position = Position::parse(
            patch.latitude.apply(old.position.map(|p| p.latitude)),
            patch.longitude.apply(old.position.map(|p| p.longitude)),
        ),
        zone = one(patch.time_zone.into_option().map_or(Ok(old.zone), |z| Zone::parse("time_zone", &z))),
    }
    let organization_id = patch.organization_id.apply(old.organization_id);
    if organization_id != old.organization_id {
        require_venue_manager(&txn, &actor, organization_id, "organization_id").await?;
    }
    let fields = VenueFields {
        name,
        address,
        kind,
        position,
        zone,
        organization_id,
        shared: patch.shared.apply(old.shared),
        illustrative,
    };
    let before = current.clone();
    let model = store::update(&txn, current, fields, state.clock.now()).await?;
    state.audit(&actor).updated(&txn, &before, &model).await?;
    txn.commit().await?;
    Ok(with_etag(model.version, VenueOut::new(model, &state.feeds)))
}

/// Deletes a venue no session uses.
#[utoipa::path(
    delete,
    path = "/venues/{id}",
    tag = "venues",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on")),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Deleted"), DeleteErrors)
)]
async fn delete_venue(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    OptionalIfMatch(precondition): OptionalIfMatch,
) -> Result<StatusCode> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    require_venue_manager(&txn, &actor, current.organization_id, "this venue").await?;
    if let Some(precondition) = precondition {
        check_version(&precondition, current.version)?;
    }
    state.audit(&actor).deleted(&txn, &current).await?;
    store::delete(&txn, current).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Venues of an organization are managed by its organizers; venues of none by admins.
async fn require_venue_manager(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    organization_id: Option<i64>,
    what: &'static str,
) -> Result<()> {
    match organization_id {
        Some(id) => require_organization(conn, actor, id, "organization_id", what).await,
        None if actor.is_admin() => Ok(()),
        None => Err(Error::Forbidden(
            "venues without an organization are managed by admins; give organization_id".into(),
        )),
    }
}
