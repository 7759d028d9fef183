//! Submitting, reading and revising plans, and their versions.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use entity::kinds::PlanReview;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::form::{PlanIn, fields_of};
use super::out::{Context, FormOut, PlanOut, plan_out};
use super::review::review_name;
use super::{plan_scope, require_open, require_plan_access};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::http::extract::{Authenticated, Id, Ids, IfMatch, Json, Query};
use crate::http::openapi::{CreateErrors, ListErrors, ReadErrors, UpdateErrors};
use crate::http::paging::{PageOut, page_request, positive_ids, search};
use crate::http::{AppState, as_field, created, with_etag};
use crate::store::plans::{self as store, PlanFields, PlanFilter};
use crate::store::{Cursor, check_version, organizations, plan_notices, programs};
use crate::validate;

/// Filters of a program's plan list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// Of this organization.
    organization_id: Option<i64>,
    /// At this step of the review.
    review: Option<PlanReview>,
    /// Text the activity name contains (Latin letters in either case), up to 64 characters.
    q: Option<String>,
    /// Only those created or changed at or after this instant (RFC 3339 with offset): what a
    /// client keeping a copy has not seen yet.
    updated_since: Option<String>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

/// Lists a program's plans: all of them to admins, their organization's (and those below it)
/// to organizers.
#[utoipa::path(
    get,
    path = "/programs/{id}/plans",
    tag = "plans",
    params(("id" = i64, Path), PlanQuery),
    security(("bearer" = [])),
    responses((status = OK, body = PageOut<PlanOut>), ListErrors, ReadErrors)
)]
pub(super) async fn list_plans(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(program_id): Id,
    Query(query): Query<PlanQuery>,
) -> Result<PageOut<PlanOut>> {
    validate! {
        search = search(query.q.as_deref(), query.updated_since.as_deref()),
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_))),
        _ids = positive_ids(&[("organization_id", query.organization_id)]),
    }
    let own = plan_scope(&actor)?;
    if let (Some(own), Some(asked)) = (own, query.organization_id)
        && own != asked
    {
        require_plan_access(&actor, asked)?;
    }
    let conn = state.db.reader();
    let program = programs::get(conn, program_id).await?;
    let filter = PlanFilter {
        organization_id: own.or(query.organization_id),
        review: query.review,
        search,
    };
    let page = store::list(conn, program.id, &filter, &page).await?;
    let mut context = Context::read(conn, &program, &page.items).await?;
    Ok(PageOut {
        next_cursor: page.next.map(|c| c.encode()),
        data: page.items.into_iter().map(|p| context.out(p)).collect(),
    })
}

/// Submits an organization's plan before the deadline (or within its extension). Subscribed
/// chat groups get a `plan.submitted` notice.
#[utoipa::path(
    post,
    path = "/programs/{id}/plans",
    tag = "plans",
    params(("id" = i64, Path)),
    request_body = PlanIn,
    security(("bearer" = [])),
    responses((status = CREATED, body = PlanOut, headers(("ETag" = String), ("Location" = String))), CreateErrors)
)]
pub(super) async fn submit_plan(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(program_id): Id,
    Json(input): Json<PlanIn>,
) -> Result<Response> {
    let organization_id = match (input.organization_id, &actor) {
        (Some(id), _) => id,
        (None, Actor::Organizer { organization_id, .. }) => *organization_id,
        (None, _) => {
            actor.require_admin()?;
            return Err(Error::field(
                "organization_id",
                "required",
                "name the organization whose plan this is",
            ));
        }
    };
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let program = programs::get(&txn, program_id).await?;
    let organization = organizations::get(&txn, organization_id)
        .await
        .map_err(as_field("organization_id"))?;
    require_plan_access(&actor, organization.id)?;
    if !store::belongs_to_program(&txn, &program, &organization).await? {
        return Err(Error::field(
            "organization_id",
            "not_in_program",
            "the organization is not part of the association that runs this program",
        ));
    }
    let fields = fields_of(&txn, &input).await?;
    require_open(&txn, &program, organization.id, now).await?;
    let model = store::submit(&txn, program.id, organization.id, fields, now).await?;
    state.audit(&actor).created(&txn, &model).await?;
    plan_notices::submitted(&txn, &program, &model, now).await?;
    let (id, version) = (model.id, model.version);
    let out = plan_out(&txn, &program, model).await?;
    txn.commit().await?;
    Ok(created(
        format!("/api/v1/programs/{}/plans/{id}", program.id),
        version,
        out,
    ))
}

/// Reads one plan (its organization and admins).
#[utoipa::path(
    get,
    path = "/programs/{id}/plans/{plan_id}",
    tag = "plans",
    params(("id" = i64, Path), ("plan_id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = PlanOut, headers(("ETag" = String))), ReadErrors)
)]
pub(super) async fn get_plan(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(program_id, plan_id): Ids,
) -> Result<Response> {
    let conn = state.db.reader();
    let program = programs::get(conn, program_id).await?;
    let model = store::get(conn, program.id, plan_id).await?;
    require_plan_access(&actor, model.organization_id)?;
    let version = model.version;
    Ok(with_etag(version, plan_out(conn, &program, model).await?))
}

/// Revises a plan: the whole form again, before the deadline (or within the organization's
/// extension) and while the review has not moved on. Needs `If-Match`. Earlier versions are
/// kept; the same form again changes nothing.
#[utoipa::path(
    put,
    path = "/programs/{id}/plans/{plan_id}",
    tag = "plans",
    params(
        ("id" = i64, Path),
        ("plan_id" = i64, Path),
        ("If-Match" = String, Header, description = "ETag of the version being revised, or *")
    ),
    request_body = PlanIn,
    security(("bearer" = [])),
    responses((status = OK, body = PlanOut, headers(("ETag" = String))), UpdateErrors)
)]
pub(super) async fn revise_plan(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(program_id, plan_id): Ids,
    IfMatch(precondition): IfMatch,
    Json(input): Json<PlanIn>,
) -> Result<Response> {
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let program = programs::get(&txn, program_id).await?;
    let current = store::get_for_update(&txn, program.id, plan_id).await?;
    require_plan_access(&actor, current.organization_id)?;
    check_version(&precondition, current.version)?;
    if input.organization_id.is_some_and(|id| id != current.organization_id) {
        return Err(Error::field(
            "organization_id",
            "immutable",
            "a plan stays with the organization that submitted it",
        ));
    }
    let fields = fields_of(&txn, &input).await?;
    require_open(&txn, &program, current.organization_id, now).await?;
    if current.review != PlanReview::Submitted {
        return Err(Error::conflict(
            "under_review",
            format!(
                "the association has moved the plan on ({}); ask it before changing the plan",
                review_name(current.review)
            ),
        ));
    }
    let model = match store::revise(&txn, current.clone(), fields, now).await? {
        Some(revised) => {
            plan_notices::submitted(&txn, &program, &revised, now).await?;
            state.audit(&actor).acted(&txn, "revise", &current, &revised).await?;
            revised
        }
        None => current,
    };
    let version = model.version;
    let out = plan_out(&txn, &program, model).await?;
    txn.commit().await?;
    Ok(with_etag(version, out))
}

/// One submitted version of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionOut {
    revision: i32,
    submitted_at: DateTime<Utc>,
    #[serde(flatten)]
    form: FormOut,
}

/// Every version of a plan, oldest first.
#[utoipa::path(
    get,
    path = "/programs/{id}/plans/{plan_id}/revisions",
    tag = "plans",
    params(("id" = i64, Path), ("plan_id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = Vec<RevisionOut>), ReadErrors)
)]
pub(super) async fn plan_revisions(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(program_id, plan_id): Ids,
) -> Result<axum::Json<Vec<RevisionOut>>> {
    let conn = state.db.reader();
    let model = store::get(conn, program_id, plan_id).await?;
    require_plan_access(&actor, model.organization_id)?;
    let revisions = store::revisions(conn, model.id).await?;
    let out = revisions
        .into_iter()
        .map(|r| {
            let fields: PlanFields = serde_json::from_value(r.content)
                .map_err(|e| Error::Internal(anyhow::anyhow!("revision {}: {e}", r.id)))?;
            Ok(RevisionOut {
                revision: r.revision,
                submitted_at: r.submitted_at,
                form: fields.into(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(axum::Json(out))
}
