//! `/api/v1/activities`: the "1" and the "N" of a program.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use entity::activity::Model;
use entity::kinds::ActivityKind;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, IfMatch, Json, OptionalIfMatch, Query};
use super::openapi::{CreateErrors, DeleteErrors, ListErrors, ReadErrors, UpdateErrors};
use super::paging::{PageOut, page_request, positive_ids, search};
use super::patch::{Change, Patch};
use super::scope::require_activity_placement;
use super::{AppState, as_field, created, with_etag};
use super::{Feeds, Target, feed_links};
use crate::auth::Actor;
use crate::domain::field::one;
use crate::domain::key::Key;
use crate::domain::text::{self, DESCRIPTION_MAX, NAME_MAX};
use crate::error::Result;
use crate::store::Fields as _;
use crate::store::activities::{self as store, ActivityFields, ActivityFilter};
use crate::store::{Cursor, check_version, organizations, programs};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_activities, create_activity))
        .routes(routes!(get_activity, update_activity, delete_activity))
}

/// Most service kinds on one activity.
const SERVICE_KINDS_MAX: usize = 16;
/// Longest service kind.
const SERVICE_KIND_LEN: usize = 32;

/// A new activity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityIn {
    /// Stable key for imports; generated when absent.
    key: Option<String>,
    program_id: i64,
    /// `main` (the "1") or `series` (one of the "N"); default `series`.
    #[serde(default = "series")]
    kind: ActivityKind,
    /// Position in the program's list; default 0.
    #[serde(default)]
    display_order: i32,
    /// Title, e.g. 第三十一届科普宣传周.
    title: String,
    description: Option<String>,
    /// Organizing organization.
    organization_id: i64,
    /// Service kinds such as 科学普及 or 智库咨询.
    #[serde(default)]
    service_kinds: Vec<String>,
    /// Shown to the public; default true.
    #[serde(default = "yes")]
    public: bool,
}

fn series() -> ActivityKind {
    ActivityKind::Series
}

fn yes() -> bool {
    true
}

/// Changes to an activity (its program never changes).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityPatch {
    #[serde(default)]
    kind: Change<ActivityKind>,
    #[serde(default)]
    display_order: Change<i32>,
    #[serde(default)]
    title: Change<String>,
    #[serde(default)]
    description: Patch<String>,
    #[serde(default)]
    organization_id: Change<i64>,
    #[serde(default)]
    service_kinds: Patch<Vec<String>>,
    #[serde(default)]
    public: Change<bool>,
}

/// An activity.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityOut {
    id: i64,
    key: String,
    program_id: i64,
    kind: ActivityKind,
    display_order: i32,
    title: String,
    description: Option<String>,
    organization_id: i64,
    service_kinds: Vec<String>,
    public: bool,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The calendar feed (iCalendar); only for public activities.
    #[serde(skip_serializing_if = "Option::is_none")]
    feed_url: Option<String>,
    /// The same feed as a `webcal://` link, which calendar apps open as a subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    webcal_url: Option<String>,
}

impl ActivityOut {
    fn new(model: Model, feeds: &Feeds) -> Self {
        let (feed_url, webcal_url) = feed_links(feeds, Target::Activity(model.id));
        let public = model.public;
        Self {
            feed_url: public.then_some(feed_url),
            webcal_url: public.then_some(webcal_url),
            service_kinds: store::service_kinds(&model),
            id: model.id,
            key: model.key,
            program_id: model.program_id,
            kind: model.kind,
            display_order: model.display_order,
            title: model.title,
            description: model.description,
            organization_id: model.organization_id,
            public: model.public,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// Filters of the activity list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActivityQuery {
    program_id: Option<i64>,
    /// Organized by this organization or one below it.
    organization_id: Option<i64>,
    kind: Option<ActivityKind>,
    /// Text the title contains (Latin letters in either case), up to 64 characters.
    q: Option<String>,
    /// Only those created or changed at or after this instant (RFC 3339 with offset): what a
    /// client keeping a copy has not seen yet.
    updated_since: Option<String>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

/// Lists the activities the caller may see, in display order.
#[utoipa::path(
    get,
    path = "/activities",
    tag = "activities",
    params(ActivityQuery),
    responses((status = OK, body = PageOut<ActivityOut>), ListErrors)
)]
async fn list_activities(
    State(state): State<AppState>,
    actor: Actor,
    Query(query): Query<ActivityQuery>,
) -> Result<PageOut<ActivityOut>> {
    validate! {
        search = search(query.q.as_deref(), query.updated_since.as_deref()),
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Ordered(..))),
        _ids = positive_ids(&[("program_id", query.program_id), ("organization_id", query.organization_id)]),
    }
    let filter = ActivityFilter {
        program_id: query.program_id,
        organization_id: query.organization_id,
        kind: query.kind,
        search,
    };
    let page = store::list(state.db.reader(), &filter, &actor.visibility(), &page)
        .await
        .map_err(as_field("organization_id"))?;
    Ok(page.map(|m| ActivityOut::new(m, &state.feeds)).into())
}

/// Reads one activity.
#[utoipa::path(
    get,
    path = "/activities/{id}",
    tag = "activities",
    params(("id" = i64, Path)),
    responses((status = OK, body = ActivityOut, headers(("ETag" = String))), ReadErrors)
)]
async fn get_activity(State(state): State<AppState>, actor: Actor, Id(id): Id) -> Result<Response> {
    let model = store::get(state.db.reader(), id, &actor.visibility()).await?;
    Ok(with_etag(model.version, ActivityOut::new(model, &state.feeds)))
}

/// Creates an activity organized by an organization the caller manages.
#[utoipa::path(
    post,
    path = "/activities",
    tag = "activities",
    request_body = ActivityIn,
    security(("bearer" = [])),
    responses((status = CREATED, body = ActivityOut, headers(("ETag" = String), ("Location" = String))), CreateErrors)
)]
async fn create_activity(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Json(input): Json<ActivityIn>,
) -> Result<Response> {
    validate! {
        key = one(Key::parse_or_generate("key", input.key.as_deref(), "activity")),
        title = one(text::required("title", &input.title, NAME_MAX)),
        description = one(text::optional_multiline("description", input.description.as_deref(), DESCRIPTION_MAX)),
        service_kinds = one(text::labels("service_kinds", &input.service_kinds, SERVICE_KINDS_MAX, SERVICE_KIND_LEN)),
    }
    let txn = state.db.begin().await?;
    let program = programs::get(&txn, input.program_id)
        .await
        .map_err(as_field("program_id"))?;
    let organizer = organizations::get(&txn, input.organization_id)
        .await
        .map_err(as_field("organization_id"))?;
    require_activity_placement(&txn, &actor, &program, &organizer).await?;
    let fields = ActivityFields {
        kind: input.kind,
        display_order: input.display_order,
        title,
        description,
        organization_id: organizer.id,
        service_kinds,
        public: input.public,
    };
    let model = store::insert(&txn, key, program.id, fields, state.clock.now()).await?;
    state.audit(&actor).created(&txn, &model).await?;
    txn.commit().await?;
    Ok(created(
        format!("/api/v1/activities/{}", model.id),
        model.version,
        ActivityOut::new(model, &state.feeds),
    ))
}

/// Updates an activity (JSON merge patch). Needs `If-Match`.
#[utoipa::path(
    patch,
    path = "/activities/{id}",
    tag = "activities",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "ETag of the version being changed, or *")),
    request_body(content = ActivityPatch, content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses((status = OK, body = ActivityOut, headers(("ETag" = String))), UpdateErrors)
)]
async fn update_activity(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    IfMatch(precondition): IfMatch,
    Json(patch): Json<ActivityPatch>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    let organizer = organizations::get(&txn, current.organization_id).await?;
    actor.require_manages(&organizer.path, "this activity")?;
    check_version(&precondition, current.version)?;
    let old = ActivityFields::of(&current);
    let kinds = patch
        .service_kinds
        .apply(Some(old.service_kinds.clone()))
        .unwrap_or_default();
    let kind = patch.kind.apply(old.kind);
    let display_order = patch.display_order.apply(old.display_order);
    let organization_id = patch.organization_id.apply(old.organization_id);
    let public = patch.public.apply(old.public);
    validate! {
        title = one(text::required("title", &patch.title.apply(old.title.clone()), NAME_MAX)),
        description = one(text::optional_multiline("description", patch.description.apply(old.description.clone()).as_deref(), DESCRIPTION_MAX)),
        service_kinds = one(text::labels("service_kinds", &kinds, SERVICE_KINDS_MAX, SERVICE_KIND_LEN)),
    }
    if organization_id != old.organization_id {
        let new_organizer = organizations::get(&txn, organization_id)
            .await
            .map_err(as_field("organization_id"))?;
        let program = programs::get(&txn, current.program_id).await?;
        require_activity_placement(&txn, &actor, &program, &new_organizer).await?;
    }
    let fields = ActivityFields {
        kind,
        display_order,
        title,
        description,
        organization_id,
        service_kinds,
        public,
    };
    let before = current.clone();
    let model = store::update(&txn, current, fields, state.clock.now()).await?;
    state.audit(&actor).updated(&txn, &before, &model).await?;
    txn.commit().await?;
    Ok(with_etag(model.version, ActivityOut::new(model, &state.feeds)))
}

/// Deletes an activity without live sessions.
#[utoipa::path(
    delete,
    path = "/activities/{id}",
    tag = "activities",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on")),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Deleted"), DeleteErrors)
)]
async fn delete_activity(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    OptionalIfMatch(precondition): OptionalIfMatch,
) -> Result<StatusCode> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    let organizer = organizations::get(&txn, current.organization_id).await?;
    actor.require_manages(&organizer.path, "this activity")?;
    if let Some(precondition) = precondition {
        check_version(&precondition, current.version)?;
    }
    state.audit(&actor).deleted(&txn, &current).await?;
    store::delete(&txn, current).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
