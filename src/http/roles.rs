//! `/api/v1/session-roles`: what a session needs (讲解员 ×4 from a team, 医生 ×2 with the
//! physician qualification).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use entity::session_role::Model;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, IfMatch, Json, OptionalIfMatch, Query};
use super::openapi::{CreateErrors, DeleteErrors, ListErrors, ReadErrors, UpdateErrors};
use super::paging::{PageOut, page_request, positive_ids, search};
use super::patch::{Change, Patch};
use super::scope::require_session_manager;
use super::{AppState, as_field, created, with_etag};
use crate::auth::Actor;
use crate::domain::field::{FieldError, one};
use crate::domain::key::Key;
use crate::domain::text::{self, NAME_MAX};
use crate::error::{Error, Result};
use crate::store::Fields as _;
use crate::store::roles::{self as store, RoleFields};
use crate::store::{Cursor, check_version, sessions, teams};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_roles, create_role))
        .routes(routes!(get_role, update_role, delete_role))
}

/// Most volunteers one role may need.
const NEEDED_MAX: i32 = 10_000;

/// A new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIn {
    /// Stable key for imports; generated when absent.
    key: Option<String>,
    session_id: i64,
    /// What the volunteers do, e.g. 讲解员.
    name: String,
    /// How many volunteers, 1–10,000.
    needed: i32,
    /// Volunteers must belong to this team or one below it.
    team_id: Option<i64>,
    /// Qualifications every volunteer must hold, valid on the session's days.
    #[serde(default)]
    qualifications: Vec<String>,
}

/// Changes to a role (its session never changes).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    #[serde(default)]
    name: Change<String>,
    #[serde(default)]
    needed: Change<i32>,
    #[serde(default)]
    team_id: Patch<i64>,
    #[serde(default)]
    qualifications: Patch<Vec<String>>,
}

/// A role, with how many of its seats are taken.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleOut {
    id: i64,
    key: String,
    session_id: i64,
    name: String,
    needed: i32,
    /// Active assignments (proposed, confirmed, checked in or no-show).
    filled: u64,
    team_id: Option<i64>,
    qualifications: Vec<String>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl RoleOut {
    fn new(model: Model, filled: u64) -> Self {
        Self {
            qualifications: store::qualifications(&model),
            id: model.id,
            key: model.key,
            session_id: model.session_id,
            name: model.name,
            needed: model.needed,
            filled,
            team_id: model.team_id,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }

    async fn load(conn: &impl ConnectionTrait, models: Vec<Model>) -> Result<Vec<Self>> {
        let ids: Vec<i64> = models.iter().map(|r| r.id).collect();
        let filled = store::filled(conn, &ids).await?;
        Ok(models
            .into_iter()
            .map(|r| {
                let n = filled.get(&r.id).copied().unwrap_or(0);
                Self::new(r, n)
            })
            .collect())
    }

    async fn load_one(conn: &impl ConnectionTrait, model: Model) -> Result<Self> {
        let mut out = Self::load(conn, vec![model]).await?;
        Ok(out.remove(0))
    }
}

/// Filters of the role list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoleQuery {
    /// The session's roles.
    session_id: Option<i64>,
    /// Text the role's name contains (Latin letters in either case), up to 64 characters.
    q: Option<String>,
    /// Only those created or changed at or after this instant (RFC 3339 with offset).
    updated_since: Option<String>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

/// Lists roles in id order; with `session_id`, those of a session the caller may see.
#[utoipa::path(
    get,
    path = "/session-roles",
    tag = "staffing",
    params(RoleQuery),
    responses((status = OK, body = PageOut<RoleOut>), ListErrors)
)]
async fn list_roles(
    State(state): State<AppState>,
    actor: Actor,
    Query(query): Query<RoleQuery>,
) -> Result<PageOut<RoleOut>> {
    validate! {
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_))),
        search = search(query.q.as_deref(), query.updated_since.as_deref()),
        _ids = positive_ids(&[("session_id", query.session_id)]),
    }
    let conn = state.db.reader();
    if let Some(session) = query.session_id {
        sessions::get(conn, session, &actor.visibility())
            .await
            .map_err(as_field("session_id"))?;
    }
    let page = store::list(conn, query.session_id, &search, &actor.visibility(), &page).await?;
    Ok(PageOut {
        next_cursor: page.next.map(|c| c.encode()),
        data: RoleOut::load(conn, page.items).await?,
    })
}

/// Reads one role.
#[utoipa::path(
    get,
    path = "/session-roles/{id}",
    tag = "staffing",
    params(("id" = i64, Path)),
    responses((status = OK, body = RoleOut, headers(("ETag" = String))), ReadErrors)
)]
async fn get_role(State(state): State<AppState>, actor: Actor, Id(id): Id) -> Result<Response> {
    let conn = state.db.reader();
    let model = store::get(conn, id).await?;
    sessions::get(conn, model.session_id, &actor.visibility())
        .await
        .map_err(|_| Error::NotFound("session role"))?;
    let version = model.version;
    Ok(with_etag(version, RoleOut::load_one(conn, model).await?))
}

/// Creates a role for a session the caller manages.
#[utoipa::path(
    post,
    path = "/session-roles",
    tag = "staffing",
    request_body = RoleIn,
    security(("bearer" = [])),
    responses((status = CREATED, body = RoleOut, headers(("ETag" = String), ("Location" = String))), CreateErrors)
)]
async fn create_role(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Json(input): Json<RoleIn>,
) -> Result<Response> {
    validate! {
        key = one(Key::parse_or_generate("key", input.key.as_deref(), "role")),
        name = one(text::required("name", &input.name, NAME_MAX)),
        needed = one(needed(input.needed)),
        qualifications = one(text::labels("qualifications", &input.qualifications, 16, 64)),
    }
    let txn = state.db.begin().await?;
    let session = sessions::get_for_update(&txn, input.session_id)
        .await
        .map_err(as_field("session_id"))?;
    require_session_manager(&txn, &actor, &session).await?;
    if let Some(team) = input.team_id {
        teams::get(&txn, team).await.map_err(as_field("team_id"))?;
    }
    let fields = RoleFields {
        name,
        needed,
        team_id: input.team_id,
        qualifications,
    };
    let model = store::insert(&txn, key, session.id, fields, state.clock.now()).await?;
    state.audit(&actor).created(&txn, &model).await?;
    let (id, version) = (model.id, model.version);
    let out = RoleOut::load_one(&txn, model).await?;
    txn.commit().await?;
    Ok(created(format!("/api/v1/session-roles/{id}"), version, out))
}

/// Updates a role (JSON merge patch). Needs `If-Match`. A role cannot need fewer volunteers
/// than it already holds.
#[utoipa::path(
    patch,
    path = "/session-roles/{id}",
    tag = "staffing",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "ETag of the version being changed, or *")),
    request_body(content = RolePatch, content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses((status = OK, body = RoleOut, headers(("ETag" = String))), UpdateErrors)
)]
async fn update_role(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    IfMatch(precondition): IfMatch,
    Json(patch): Json<RolePatch>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    let session = sessions::get(&txn, current.session_id, &crate::store::Visibility::All).await?;
    require_session_manager(&txn, &actor, &session).await?;
    check_version(&precondition, current.version)?;
    let old = RoleFields::of(&current);
    let qualifications = patch
        .qualifications
        .apply(Some(old.qualifications.clone()))
        .unwrap_or_default();
    validate! {
        name = one(text::required("name", &patch.name.apply(old.name.clone()), NAME_MAX)),
        needed = one(needed(patch.needed.apply(old.needed))),
        qualifications = one(text::labels("qualifications", &qualifications, 16, 64)),
    }
    let team_id = patch.team_id.apply(old.team_id);
    if let Some(team) = team_id.filter(|t| Some(*t) != old.team_id) {
        teams::get(&txn, team).await.map_err(as_field("team_id"))?;
    }
    let fields = RoleFields {
        name,
        needed,
        team_id,
        qualifications,
    };
    let before = current.clone();
    let model = store::update(&txn, current, fields, state.clock.now()).await?;
    state.audit(&actor).updated(&txn, &before, &model).await?;
    let version = model.version;
    let out = RoleOut::load_one(&txn, model).await?;
    txn.commit().await?;
    Ok(with_etag(version, out))
}

/// Deletes a role nobody was ever assigned to.
#[utoipa::path(
    delete,
    path = "/session-roles/{id}",
    tag = "staffing",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on")),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Deleted"), DeleteErrors)
)]
async fn delete_role(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    OptionalIfMatch(precondition): OptionalIfMatch,
) -> Result<StatusCode> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    let session = sessions::get(&txn, current.session_id, &crate::store::Visibility::All).await?;
    require_session_manager(&txn, &actor, &session).await?;
    if let Some(precondition) = precondition {
        check_version(&precondition, current.version)?;
    }
    state.audit(&actor).deleted(&txn, &current).await?;
    store::delete(&txn, current).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn needed(value: i32) -> Result<i32, FieldError> {
    if (1..=NEEDED_MAX).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            "needed",
            "out_of_range",
            format!("must be between 1 and {NEEDED_MAX}"),
        ))
    }
}
