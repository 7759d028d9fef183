//! `/api/v1/volunteers`: people who staff sessions, with their teams, qualifications and
//! unavailability. Mobile numbers and e-mails are shown in full only to admins, to organizers
//! of the volunteer's organization and to the volunteer; everyone else sees the mobile masked
//! and no e-mail or unavailability.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, IfMatch, Json, OptionalIfMatch, Query};
use super::openapi::{CreateErrors, DeleteErrors, ListErrors, ReadErrors, UpdateErrors};
use super::paging::{PageOut, page_request, positive_ids, search};
use super::scope::require_organization;
use super::{AppState, as_field, created, with_etag};
use crate::auth::Actor;
use crate::domain::field::one;
use crate::domain::key::Key;
use crate::domain::text::{self, NAME_MAX};
use crate::error::{Error, Result};
use crate::store::Fields as _;
use crate::store::volunteers::{self as store, Details, Membership, VolunteerFields, VolunteerFilter};
use crate::store::{Cursor, check_version, organizations, teams};
use crate::validate;

mod io;
mod links;

pub(super) use io::sees_personal_data;
use io::{
    TAG_LEN, TAGS_MAX, away, details, held, memberships, optional_email, optional_mobile, present, present_one, replace,
};
pub use io::{VolunteerIn, VolunteerOut, VolunteerPatch};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_volunteers, create_volunteer))
        .routes(routes!(get_volunteer, update_volunteer, delete_volunteer))
        .routes(routes!(links::rotate_feed_token))
        .routes(routes!(links::rotate_page_token))
        .routes(routes!(links::page_links))
}

/// Filters of the volunteer list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VolunteerQuery {
    /// Of this organization or one below it.
    organization_id: Option<i64>,
    /// Members of this team or one below it.
    team_id: Option<i64>,
    /// With this tag.
    tag: Option<String>,
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

/// Lists, in id order, the volunteers the caller may see: admins all; organizers their
/// organizations' volunteers and those assigned to sessions they manage; a volunteer themself.
#[utoipa::path(
    get,
    path = "/volunteers",
    tag = "volunteers",
    params(VolunteerQuery),
    security(("bearer" = [])),
    responses((status = OK, body = PageOut<VolunteerOut>), ListErrors)
)]
async fn list_volunteers(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(query): Query<VolunteerQuery>,
) -> Result<PageOut<VolunteerOut>> {
    validate! {
        search = search(query.q.as_deref(), query.updated_since.as_deref()),
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_))),
        _ids = positive_ids(&[("organization_id", query.organization_id), ("team_id", query.team_id)]),
    }
    let conn = state.db.reader();
    let organization_path = match query.organization_id {
        Some(id) => Some(
            organizations::get(conn, id)
                .await
                .map_err(as_field("organization_id"))?
                .path,
        ),
        None => None,
    };
    let team_path = match query.team_id {
        Some(id) => Some(teams::get(conn, id).await.map_err(as_field("team_id"))?.path),
        None => None,
    };
    let filter = VolunteerFilter {
        organization_path,
        team_path,
        tag: query.tag,
        search,
    };
    let page = store::list(conn, &filter, &actor.reach()?, &page).await?;
    Ok(PageOut {
        next_cursor: page.next.map(|c| c.encode()),
        data: present(conn, &actor, page.items, &state.feeds).await?,
    })
}

/// Reads one volunteer the caller may see (404 for any other).
#[utoipa::path(
    get,
    path = "/volunteers/{id}",
    tag = "volunteers",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = VolunteerOut, headers(("ETag" = String))), ReadErrors)
)]
async fn get_volunteer(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
) -> Result<Response> {
    let conn = state.db.reader();
    let model = store::get_visible(conn, id, &actor.reach()?).await?;
    let version = model.version;
    Ok(with_etag(
        version,
        present_one(conn, &actor, model, &state.feeds).await?,
    ))
}

/// Creates a volunteer of an organization the caller manages.
#[utoipa::path(
    post,
    path = "/volunteers",
    tag = "volunteers",
    request_body = VolunteerIn,
    security(("bearer" = [])),
    responses((status = CREATED, body = VolunteerOut, headers(("ETag" = String), ("Location" = String))), CreateErrors)
)]
async fn create_volunteer(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Json(input): Json<VolunteerIn>,
) -> Result<Response> {
    validate! {
        key = one(Key::parse_or_generate("key", input.key.as_deref(), "volunteer")),
        name = one(text::required("name", &input.name, NAME_MAX)),
        mobile = one(optional_mobile(input.mobile.as_deref())),
        email = one(optional_email(input.email.as_deref())),
        tags = one(text::labels("tags", &input.tags, TAGS_MAX, TAG_LEN)),
        details = details(&input.teams, &input.qualifications, &input.unavailable),
    }
    let txn = state.db.begin().await?;
    require_manager(&txn, &actor, input.organization_id, "organization_id").await?;
    require_teams(&txn, &actor, &details.teams, &[]).await?;
    let fields = VolunteerFields {
        name,
        mobile,
        email,
        organization_id: input.organization_id,
        tags,
    };
    let listed = details.audited();
    let model = store::insert(&txn, key, fields, details, state.clock.now()).await?;
    state.audit(&actor).created_with(&txn, (&model, listed)).await?;
    let (id, version) = (model.id, model.version);
    let out = present_one(&txn, &actor, model, &state.feeds).await?;
    txn.commit().await?;
    Ok(created(format!("/api/v1/volunteers/{id}"), version, out))
}

/// Updates a volunteer (JSON merge patch; lists given replace the stored ones). Needs `If-Match`.
#[utoipa::path(
    patch,
    path = "/volunteers/{id}",
    tag = "volunteers",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "ETag of the version being changed, or *")),
    request_body(content = VolunteerPatch, content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses((status = OK, body = VolunteerOut, headers(("ETag" = String))), UpdateErrors)
)]
async fn update_volunteer(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    IfMatch(precondition): IfMatch,
    Json(patch): Json<VolunteerPatch>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    require_manager(&txn, &actor, current.organization_id, "this volunteer").await?;
    check_version(&precondition, current.version)?;
    let old = VolunteerFields::of(&current);
    let stored = store::details(&txn, &[current.id])
        .await?
        .remove(&current.id)
        .unwrap_or_default();
    // Lists not in the patch keep their stored contents; `null` empties one.
    let lists_given = !(patch.teams.is_absent() && patch.qualifications.is_absent() && patch.unavailable.is_absent());
    let tags = patch.tags.apply(Some(old.tags.clone())).unwrap_or_default();
    validate! {
        name = one(text::required("name", &patch.name.apply(old.name.clone()), NAME_MAX)),
        mobile = one(optional_mobile(patch.mobile.apply(old.mobile.clone()).as_deref())),
        email = one(optional_email(patch.email.apply(old.email.clone()).as_deref())),
        tags = one(text::labels("tags", &tags, TAGS_MAX, TAG_LEN)),
        teams = replace(patch.teams, &stored.teams, memberships),
        qualifications = replace(patch.qualifications, &stored.qualifications, held),
        unavailable = replace(patch.unavailable, &stored.unavailable, away),
    }
    let details = lists_given.then_some(Details {
        teams,
        qualifications,
        unavailable,
    });
    let organization_id = patch.organization_id.apply(old.organization_id);
    if organization_id != old.organization_id {
        require_manager(&txn, &actor, organization_id, "organization_id").await?;
    }
    if let Some(details) = &details {
        require_teams(&txn, &actor, &details.teams, &stored.teams).await?;
    }
    let fields = VolunteerFields {
        name,
        mobile,
        email,
        organization_id,
        tags,
    };
    let before = current.clone();
    let listed_after = details.as_ref().unwrap_or(&stored).audited();
    let model = store::update(&txn, current, fields, details, state.clock.now()).await?;
    state
        .audit(&actor)
        .updated_with(&txn, (&before, stored.audited()), (&model, listed_after))
        .await?;
    let version = model.version;
    let out = present_one(&txn, &actor, model, &state.feeds).await?;
    txn.commit().await?;
    Ok(with_etag(version, out))
}

/// Deletes a volunteer who was never assigned.
#[utoipa::path(
    delete,
    path = "/volunteers/{id}",
    tag = "volunteers",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on")),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Deleted"), DeleteErrors)
)]
async fn delete_volunteer(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    OptionalIfMatch(precondition): OptionalIfMatch,
) -> Result<StatusCode> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    require_manager(&txn, &actor, current.organization_id, "this volunteer").await?;
    if let Some(precondition) = precondition {
        check_version(&precondition, current.version)?;
    }
    state.audit(&actor).deleted(&txn, &current).await?;
    store::delete(&txn, current, state.clock.now()).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Volunteers are managed by those who manage their organization.
async fn require_manager(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    organization_id: i64,
    what: &'static str,
) -> Result<()> {
    require_organization(conn, actor, organization_id, "organization_id", what).await
}

/// Every team in `teams` exists, and the caller manages the organization of each team the
/// volunteer newly joins (a team decides who joins it).
async fn require_teams(
    txn: &DatabaseTransaction,
    actor: &Actor,
    teams: &[Membership],
    before: &[Membership],
) -> Result<()> {
    let mut paths: HashMap<i64, String> = HashMap::new();
    for (i, membership) in teams.iter().enumerate() {
        let team = teams::get(txn, membership.team_id).await.map_err(|e| match e {
            Error::NotFound(_) => Error::field(format!("teams[{i}].team_id"), "not_found", "there is no such team"),
            other => other,
        })?;
        if before.iter().any(|b| b.team_id == team.id) {
            continue;
        }
        let path = match paths.get(&team.organization_id) {
            Some(path) => path.clone(),
            None => organizations::get(txn, team.organization_id).await?.path,
        };
        actor.require_manages(&path, "a team the volunteer would join")?;
        paths.insert(team.organization_id, path);
    }
    Ok(())
}
