//! `/api/v1/programs`: a host organization's Workers' Day program.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, FixedOffset, Utc};
use entity::program::Model;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, IfMatch, Json, OptionalIfMatch, Query};
use super::openapi::{CreateErrors, DeleteErrors, ListErrors, ReadErrors, UpdateErrors};
use super::paging::{PageOut, page_request, positive_ids, search};
use super::patch::{Change, Patch};
use super::{AppState, as_field, created, with_etag};
use super::{Feeds, Target, feed_links};
use crate::auth::Actor;
use crate::domain::field::{FieldError, one};
use crate::domain::key::Key;
use crate::domain::text::{self, NAME_MAX};
use crate::domain::time::TimeInput;
use crate::domain::zone::Zone;
use crate::error::Result;
use crate::store::Fields as _;
use crate::store::programs::{self as store, ProgramFields, ProgramFilter};
use crate::store::{Cursor, check_version, organizations};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_programs, create_program))
        .routes(routes!(get_program, update_program, delete_program))
}

/// Longest theme.
const THEME_MAX: usize = 500;

/// A new program.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramIn {
    /// Stable key for imports; generated when absent.
    key: Option<String>,
    /// Name, e.g. 2019年全国科技工作者日系列活动.
    name: String,
    /// Theme, e.g. 礼赞共和国、追梦新时代——科技志愿服务行动.
    theme: Option<String>,
    /// IANA zone the program's local times are read in.
    time_zone: String,
    host_organization_id: i64,
    /// Plan-submission deadline: RFC 3339 with offset, or local time in `time_zone`.
    plan_deadline: Option<String>,
}

/// Changes to a program.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramPatch {
    #[serde(default)]
    name: Change<String>,
    #[serde(default)]
    theme: Patch<String>,
    #[serde(default)]
    time_zone: Change<String>,
    #[serde(default)]
    host_organization_id: Change<i64>,
    #[serde(default)]
    plan_deadline: Patch<String>,
}

/// A program.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramOut {
    id: i64,
    key: String,
    name: String,
    theme: Option<String>,
    time_zone: String,
    host_organization_id: i64,
    /// In the program's zone.
    plan_deadline: Option<DateTime<FixedOffset>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The calendar feed (iCalendar).
    feed_url: String,
    /// The same feed as a `webcal://` link, which calendar apps open as a subscription.
    webcal_url: String,
}

impl ProgramOut {
    fn new(model: Model, feeds: &Feeds) -> Self {
        let zone = Zone::from_stored(&model.time_zone);
        let (feed_url, webcal_url) = feed_links(feeds, Target::Program(model.id));
        Self {
            feed_url,
            webcal_url,
            plan_deadline: model.plan_deadline.map(|t| t.with_timezone(&zone.tz()).fixed_offset()),
            id: model.id,
            key: model.key,
            name: model.name,
            theme: model.theme,
            time_zone: model.time_zone,
            host_organization_id: model.host_organization_id,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// Filters of the program list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProgramQuery {
    /// Hosted by this organization.
    organization_id: Option<i64>,
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

/// Lists programs in id order.
#[utoipa::path(
    get,
    path = "/programs",
    tag = "programs",
    params(ProgramQuery),
    responses((status = OK, body = PageOut<ProgramOut>), ListErrors)
)]
async fn list_programs(
    State(state): State<AppState>,
    Query(query): Query<ProgramQuery>,
) -> Result<PageOut<ProgramOut>> {
    validate! {
        search = search(query.q.as_deref(), query.updated_since.as_deref()),
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_))),
        _ids = positive_ids(&[("organization_id", query.organization_id)]),
    }
    let filter = ProgramFilter {
        organization_id: query.organization_id,
        search,
    };
    let page = store::list(state.db.reader(), &filter, &page).await?;
    Ok(page.map(|m| ProgramOut::new(m, &state.feeds)).into())
}

/// Reads one program.
#[utoipa::path(
    get,
    path = "/programs/{id}",
    tag = "programs",
    params(("id" = i64, Path)),
    responses((status = OK, body = ProgramOut, headers(("ETag" = String))), ReadErrors)
)]
async fn get_program(State(state): State<AppState>, Id(id): Id) -> Result<Response> {
    let model = store::get(state.db.reader(), id).await?;
    Ok(with_etag(model.version, ProgramOut::new(model, &state.feeds)))
}

/// Creates a program hosted by an organization the caller manages.
#[utoipa::path(
    post,
    path = "/programs",
    tag = "programs",
    request_body = ProgramIn,
    security(("bearer" = [])),
    responses((status = CREATED, body = ProgramOut, headers(("ETag" = String), ("Location" = String))), CreateErrors)
)]
async fn create_program(State(state): State<AppState>, actor: Actor, Json(input): Json<ProgramIn>) -> Result<Response> {
    validate! {
        key = one(Key::parse_or_generate("key", input.key.as_deref(), "program")),
        name = one(text::required("name", &input.name, NAME_MAX)),
        theme = one(text::optional("theme", input.theme.as_deref(), THEME_MAX)),
        zone = one(Zone::parse("time_zone", &input.time_zone)),
    }
    validate! {
        plan_deadline = one(deadline(input.plan_deadline.as_deref(), zone)),
    }
    let txn = state.db.begin().await?;
    let host = organizations::get(&txn, input.host_organization_id)
        .await
        .map_err(as_field("host_organization_id"))?;
    actor.require_manages(&host.path, "the host organization")?;
    let fields = ProgramFields {
        name,
        theme,
        zone,
        host_organization_id: host.id,
        plan_deadline,
    };
    let model = store::insert(&txn, key, fields, state.clock.now()).await?;
    state.audit(&actor).created(&txn, &model).await?;
    txn.commit().await?;
    Ok(created(
        format!("/api/v1/programs/{}", model.id),
        model.version,
        ProgramOut::new(model, &state.feeds),
    ))
}

/// Updates a program (JSON merge patch). Needs `If-Match`.
#[utoipa::path(
    patch,
    path = "/programs/{id}",
    tag = "programs",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "ETag of the version being changed, or *")),
    request_body(content = ProgramPatch, content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses((status = OK, body = ProgramOut, headers(("ETag" = String))), UpdateErrors)
)]
async fn update_program(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    IfMatch(precondition): IfMatch,
    Json(patch): Json<ProgramPatch>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    let host = organizations::get(&txn, current.host_organization_id).await?;
    actor.require_manages(&host.path, "this program")?;
    check_version(&precondition, current.version)?;
    let old = ProgramFields::of(&current);
    let host_organization_id = patch.host_organization_id.apply(old.host_organization_id);
    validate! {
        name = one(text::required("name", &patch.name.apply(old.name.clone()), NAME_MAX)),
        theme = one(text::optional("theme", patch.theme.apply(old.theme.clone()).as_deref(), THEME_MAX)),
        zone = one(patch.time_zone.into_option().map_or(Ok(old.zone), |z| Zone::parse("time_zone", &z))),
    }
    let plan_deadline = match patch.plan_deadline {
        Patch::Absent => old.plan_deadline,
        Patch::Null => None,
        Patch::Value(text) => {
            validate! { at = one(deadline(Some(&text), zone)) }
            at
        }
    };
    if host_organization_id != old.host_organization_id {
        let new_host = organizations::get(&txn, host_organization_id)
            .await
            .map_err(as_field("host_organization_id"))?;
        actor.require_manages(&new_host.path, "the new host organization")?;
    }
    let fields = ProgramFields {
        name,
        theme,
        zone,
        host_organization_id,
        plan_deadline,
    };
    let before = current.clone();
    let model = store::update(&txn, current, fields, state.clock.now()).await?;
    state.audit(&actor).updated(&txn, &before, &model).await?;
    txn.commit().await?;
    Ok(with_etag(model.version, ProgramOut::new(model, &state.feeds)))
}

/// Deletes a program without activities.
#[utoipa::path(
    delete,
    path = "/programs/{id}",
    tag = "programs",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on")),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Deleted"), DeleteErrors)
)]
async fn delete_program(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    OptionalIfMatch(precondition): OptionalIfMatch,
) -> Result<StatusCode> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    let host = organizations::get(&txn, current.host_organization_id).await?;
    actor.require_manages(&host.path, "this program")?;
    if let Some(precondition) = precondition {
        check_version(&precondition, current.version)?;
    }
    state.audit(&actor).deleted(&txn, &current).await?;
    store::delete(&txn, current).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A deadline as given: an instant, or a local time in the program's zone.
pub(crate) fn deadline(text: Option<&str>, zone: Zone) -> Result<Option<DateTime<Utc>>, FieldError> {
    text.map(|t| TimeInput::parse("plan_deadline", t).and_then(|t| t.resolve("plan_deadline", zone)))
        .transpose()
}
