//! `/api/v1/assignments`: putting volunteers in session roles, and what happens after.
//!
//! Organizers assign (one at a time or in batches) and may cancel or mark no-shows; volunteers
//! confirm, decline (请假) and check in with their own token; admins may set some rules aside
//! with a recorded reason.

use std::collections::{BTreeSet, HashMap};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, FixedOffset, Utc};
use entity::assignment::Model;
use entity::kinds::AssignmentStatus;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, Json, Query};
use super::openapi::{CreateErrors, ListErrors, ReadErrors, UpdateErrors};
use super::paging::{PageOut, page_request, positive_ids, search};
use super::scope::session_owner;
use super::volunteers::sees_personal_data;
use super::{AppState, as_field, created, with_etag};
use crate::auth::Actor;
use crate::domain::contact::mask_mobile;
use crate::domain::field::{FieldError, one};
use crate::domain::key::Key;
use crate::domain::staffing::{Rule, Violation};
use crate::domain::text;
use crate::domain::zone::Zone;
use crate::error::{Error, Problem, Result};
use crate::store::assignments::{self as store, Action, AssignmentFilter, Override, Request};
use crate::store::{Cursor, Visibility, candidates, organizations, roles, sessions, volunteers};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_assignments, create_assignment))
        .routes(routes!(create_assignments))
        .routes(routes!(get_assignment))
        .routes(routes!(confirm_assignment))
        .routes(routes!(decline_assignment))
        .routes(routes!(cancel_assignment))
        .routes(routes!(check_in))
        .routes(routes!(mark_no_show))
        .routes(routes!(list_candidates))
}

/// Most assignments in one batch.
const BATCH_MAX: usize = 500;

/// An admin's decision to set rules aside.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideIn {
    /// Rules to set aside: `overlap`, `team`, `qualification`, `unavailable`.
    rules: Vec<Rule>,
    /// Why, for the record.
    reason: String,
}

/// A new assignment.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentIn {
    /// Stable key for imports; generated when absent.
    key: Option<String>,
    role_id: i64,
    volunteer_id: i64,
    /// `proposed` (default) or `confirmed`.
    status: Option<AssignmentStatus>,
    /// Admins only: rules to set aside, with the reason.
    #[serde(rename = "override")]
    override_rules: Option<OverrideIn>,
}

/// Several new assignments, each judged on its own.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentBatchIn {
    /// 1–500 assignments.
    items: Vec<AssignmentIn>,
}

/// The volunteer of an assignment, as the reader may see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssigneeOut {
    id: i64,
    name: String,
    /// Masked (`138****1234`) unless the reader manages the volunteer.
    mobile: Option<String>,
}

/// An assignment.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentOut {
    id: i64,
    key: String,
    role_id: i64,
    session_id: i64,
    volunteer: AssigneeOut,
    status: AssignmentStatus,
    /// Why it was declined or cancelled.
    reason: Option<String>,
    /// When the volunteer checked in, in the program's time zone.
    checked_in_at: Option<DateTime<FixedOffset>>,
    /// Rules an admin set aside for it.
    overridden_rules: Vec<Rule>,
    override_reason: Option<String>,
    /// What it clashes with since a session moved.
    conflicts: Vec<Violation>,
    /// When the clash was found, in the program's time zone.
    flagged_at: Option<DateTime<FixedOffset>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The outcome of one item of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResultOut {
    /// Position in the request.
    index: usize,
    /// 201 when assigned; otherwise the status a single request would have got.
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignment: Option<AssignmentOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<Problem>,
}

/// The outcome of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut {
    /// How many were assigned.
    created: usize,
    /// How many were refused.
    failed: usize,
    results: Vec<BatchResultOut>,
}

impl AssignmentOut {
    /// An assignment with its volunteer, whose mobile is shown in full only when `full`.
    fn new(a: Model, volunteer: &entity::volunteer::Model, full: bool, zone: Zone) -> Self {
        Self {
            volunteer: AssigneeOut {
                id: volunteer.id,
                name: volunteer.name.clone(),
                mobile: volunteer.mobile.clone().map(|m| if full { m } else { mask_mobile(&m) }),
            },
            overridden_rules: serde_json::from_value(a.overridden_rules.clone()).unwrap_or_default(),
            conflicts: a
                .conflicts
                .clone()
                .and_then(|c| serde_json::from_value(c).ok())
                .unwrap_or_default(),
            id: a.id,
            key: a.key,
            role_id: a.role_id,
            session_id: a.session_id,
            status: a.status,
            reason: a.reason,
            checked_in_at: a.checked_in_at.map(|t| zone.local(t)),
            override_reason: a.override_reason,
            flagged_at: a.flagged_at.map(|t| zone.local(t)),
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Assignments as `actor` may see them.
pub(super) async fn present(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    models: Vec<Model>,
) -> Result<Vec<AssignmentOut>> {
    let ids: Vec<i64> = models
        .iter()
        .map(|a| a.volunteer_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut people = HashMap::new();
    for chunk in ids.chunks(500) {
        for volunteer in volunteers::many(conn, chunk).await? {
            people.insert(volunteer.id, volunteer);
        }
    }
    let organizations: Vec<i64> = people.values().map(|v| v.organization_id).collect();
    let paths = organizations::paths(conn, &organizations).await?;
    let mut sessions: Vec<i64> = models.iter().map(|a| a.session_id).collect();
    sessions.sort_unstable();
    sessions.dedup();
    let zones = crate::store::sessions::program_zones(conn, &sessions).await?;
    Ok(models
        .into_iter()
        .filter_map(|a| {
            let volunteer = people.get(&a.volunteer_id)?;
            let full = sees_personal_data(
                actor,
                volunteer.id,
                paths.get(&volunteer.organization_id).map(String::as_str),
            );
            let zone = zones
                .get(&a.session_id)
                .copied()
                .unwrap_or_else(|| Zone::from_stored("UTC"));
            Some(AssignmentOut::new(a, volunteer, full, zone))
        })
        .collect())
}

async fn present_one(conn: &impl ConnectionTrait, actor: &Actor, model: Model) -> Result<AssignmentOut> {
    let mut out = present(conn, actor, vec![model]).await?;
    Ok(out.remove(0))
}

/// Filters of the assignment list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AssignmentQuery {
    session_id: Option<i64>,
    role_id: Option<i64>,
    volunteer_id: Option<i64>,
    program_id: Option<i64>,
    status: Option<AssignmentStatus>,
    /// Only those flagged with conflicts (`true`) or only those without (`false`).
    flagged: Option<bool>,
    /// Only those created or changed at or after this instant (RFC 3339 with offset): what a
    /// client keeping a copy has not seen yet.
    updated_since: Option<String>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

/// Lists the assignments the caller may see (a volunteer token: its own), in id order.
#[utoipa::path(
    get,
    path = "/assignments",
    tag = "staffing",
    params(AssignmentQuery),
    security(("bearer" = [])),
    responses((status = OK, body = PageOut<AssignmentOut>), ListErrors)
)]
async fn list_assignments(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(query): Query<AssignmentQuery>,
) -> Result<PageOut<AssignmentOut>> {
    validate! {
        search = search(None, query.updated_since.as_deref()),
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_))),
        _ids = positive_ids(&[
            ("session_id", query.session_id),
            ("role_id", query.role_id),
            ("volunteer_id", query.volunteer_id),
            ("program_id", query.program_id),
        ]),
    }
    let filter = AssignmentFilter {
        session_id: query.session_id,
        role_id: query.role_id,
        volunteer_id: query.volunteer_id,
        program_id: query.program_id,
        status: query.status,
        flagged: query.flagged,
        search,
    };
    let conn = state.db.reader();
    let page = store::list(conn, &filter, &actor.reach()?, &page).await?;
    Ok(PageOut {
        next_cursor: page.next.map(|c| c.encode()),
        data: present(conn, &actor, page.items).await?,
    })
}

/// Reads one assignment the caller may see.
#[utoipa::path(
    get,
    path = "/assignments/{id}",
    tag = "staffing",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = AssignmentOut, headers(("ETag" = String))), ReadErrors)
)]
async fn get_assignment(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
) -> Result<Response> {
    let conn = state.db.reader();
    if !store::reaches(conn, &actor.reach()?, id).await? {
        return Err(Error::NotFound("assignment"));
    }
    let model = store::get(conn, id).await?;
    let version = model.version;
    Ok(with_etag(version, present_one(conn, &actor, model).await?))
}

/// Puts a volunteer in a session role. Refused (409) with every broken rule listed: the
/// volunteer is busy then (travel time between venues counted), the role is full, the volunteer
/// is not in the required team or lacks a qualification valid on the session's days, is
/// unavailable, or the session is cancelled or over.
#[utoipa::path(
    post,
    path = "/assignments",
    tag = "staffing",
    request_body = AssignmentIn,
    security(("bearer" = [])),
    responses((status = CREATED, body = AssignmentOut, headers(("ETag" = String), ("Location" = String))), CreateErrors)
)]
async fn create_assignment(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Json(input): Json<AssignmentIn>,
) -> Result<Response> {
    let out = assign(&state, &actor, input).await?;
    Ok(created(format!("/api/v1/assignments/{}", out.id), out.version, out))
}

/// Assigns many volunteers; each item is judged (and committed) on its own and answered in
/// `results`, in request order.
#[utoipa::path(
    post,
    path = "/assignments/batch",
    tag = "staffing",
    request_body = AssignmentBatchIn,
    security(("bearer" = [])),
    responses((status = OK, body = BatchOut), CreateErrors)
)]
async fn create_assignments(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Json(input): Json<AssignmentBatchIn>,
) -> Result<axum::Json<BatchOut>> {
    if matches!(actor, Actor::Volunteer { .. }) {
        return Err(Error::Forbidden(
            "volunteer tokens answer assignments; they do not make them".to_owned(),
        ));
    }
    if input.items.is_empty() || input.items.len() > BATCH_MAX {
        return Err(Error::field(
            "items",
            "out_of_range",
            format!("send 1 to {BATCH_MAX} items"),
        ));
    }
    let mut results = Vec::with_capacity(input.items.len());
    for (index, item) in input.items.into_iter().enumerate() {
        results.push(match assign(&state, &actor, item).await {
            Ok(out) => BatchResultOut {
                index,
                status: StatusCode::CREATED.as_u16(),
                assignment: Some(out),
                problem: None,
            },
            Err(Error::Internal(cause)) => return Err(Error::Internal(cause)),
            Err(error) => BatchResultOut {
                index,
                status: error.status().as_u16(),
                assignment: None,
                problem: Some(error.problem()),
            },
        });
    }
    let created = results.iter().filter(|r| r.assignment.is_some()).count();
    Ok(axum::Json(BatchOut {
        failed: results.len() - created,
        created,
        results,
    }))
}

/// Checks the request and the caller's rights, then assigns in a transaction of its own.
///
/// Who may assign is decided from the read pool, before the write transaction starts, so the
/// part that holds locks (or, on SQLite, the single writer) does only the rule check and the
/// insert.
async fn assign(state: &AppState, actor: &Actor, input: AssignmentIn) -> Result<AssignmentOut> {
    let status = input.status.unwrap_or(AssignmentStatus::Proposed);
    validate! {
        key = one(Key::parse_or_generate("key", input.key.as_deref(), "assignment")),
        status = one(match status {
            AssignmentStatus::Proposed | AssignmentStatus::Confirmed => Ok(status),
            _ => Err(FieldError::new("status", "not_allowed", "new assignments are proposed or confirmed")),
        }),
        override_rules = one(override_rules(input.override_rules.as_ref(), actor)),
    }
    let conn = state.db.reader();
    let placing = roles::placing(conn, input.role_id)
        .await?
        .ok_or_else(|| Error::field("role_id", "not_found", "there is no such session role"))?;
    actor.require_manages(&placing.owner, "this session")?;
    let (volunteer, home) = volunteers::with_home(conn, input.volunteer_id)
        .await
        .map_err(as_field("volunteer_id"))?;
    actor.require_manages(&home, "the volunteer")?;
    let request = Request {
        key,
        role_id: input.role_id,
        session_id: placing.session_id,
        volunteer_id: volunteer.id,
        status,
        override_rules,
    };
    let txn = state.db.begin().await?;
    let model = store::assign(&txn, request, state.policy()).await?;
    state.audit(actor).created(&txn, &model).await?;
    txn.commit().await?;
    let full = sees_personal_data(actor, volunteer.id, Some(&home));
    let zone = Zone::from_stored(&placing.program_zone);
    Ok(AssignmentOut::new(model, &volunteer, full, zone))
}

fn override_rules(given: Option<&OverrideIn>, actor: &Actor) -> Result<Option<Override>, FieldError> {
    let Some(given) = given else { return Ok(None) };
    let by = match actor {
        Actor::Admin { token_id } => *token_id,
        _ => {
            return Err(FieldError::new(
                "override",
                "not_allowed",
                "only admins may set rules aside",
            ));
        }
    };
    if let Some(rule) = given.rules.iter().find(|r| !r.overridable()) {
        return Err(FieldError::new(
            "override.rules",
            "not_overridable",
            format!("{rule:?} cannot be set aside; only overlap, team, qualification and unavailable can"),
        ));
    }
    if given.rules.is_empty() {
        return Err(FieldError::new(
            "override.rules",
            "required",
            "name the rules to set aside",
        ));
    }
    let reason = text::required("override.reason", &given.reason, 500)?;
    Ok(Some(Override {
        rules: given.rules.iter().copied().collect(),
        reason,
        by,
    }))
}

/// A reason for declining or cancelling.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonIn {
    /// E.g. 临时出差 (a sudden business trip).
    reason: Option<String>,
}

/// Who may do what to an assignment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The volunteer or an organizer.
    VolunteerOrOrganizer,
    /// Organizers only.
    Organizer,
}

async fn act(state: &AppState, actor: &Actor, id: i64, action: Action, who: Who) -> Result<Response> {
    let txn = state.db.begin().await?;
    if !store::reaches(&txn, &actor.reach()?, id).await? {
        return Err(Error::NotFound("assignment"));
    }
    let current = store::get_for_update(&txn, id).await?;
    let own = matches!(actor, Actor::Volunteer { volunteer_id, .. } if *volunteer_id == current.volunteer_id);
    if !(own && who == Who::VolunteerOrOrganizer) {
        let session = sessions::get(&txn, current.session_id, &Visibility::All)
            .await
            .map_err(|_| Error::NotFound("session"))?;
        let owner = session_owner(&txn, &session).await?;
        let volunteer = volunteers::get(&txn, current.volunteer_id).await?;
        let home = organizations::get(&txn, volunteer.organization_id).await?.path;
        if !(actor.manages(&owner) || actor.manages(&home)) {
            return Err(Error::Forbidden("only the session's organizers may do this".into()));
        }
    }
    let model = store::act(&txn, current, action, state.clock.now(), &state.audit(actor)).await?;
    txn.commit().await?;
    let version = model.version;
    Ok(with_etag(version, present_one(state.db.reader(), actor, model).await?))
}

/// The volunteer (or an organizer) confirms.
#[utoipa::path(
    post,
    path = "/assignments/{id}/confirm",
    tag = "staffing",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = AssignmentOut), UpdateErrors)
)]
async fn confirm_assignment(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
) -> Result<Response> {
    act(&state, &actor, id, Action::Confirm, Who::VolunteerOrOrganizer).await
}

/// The volunteer (or an organizer) declines, with a reason (请假); the seat is freed.
#[utoipa::path(
    post,
    path = "/assignments/{id}/decline",
    tag = "staffing",
    params(("id" = i64, Path)),
    request_body = ReasonIn,
    security(("bearer" = [])),
    responses((status = OK, body = AssignmentOut), UpdateErrors)
)]
async fn decline_assignment(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    Json(input): Json<ReasonIn>,
) -> Result<Response> {
    validate! {
        reason = one(text::required("reason", input.reason.as_deref().unwrap_or(""), 500)),
    }
    act(&state, &actor, id, Action::Decline(reason), Who::VolunteerOrOrganizer).await
}

/// An organizer withdraws the assignment; the seat is freed and the record kept.
#[utoipa::path(
    post,
    path = "/assignments/{id}/cancel",
    tag = "staffing",
    params(("id" = i64, Path)),
    request_body = ReasonIn,
    security(("bearer" = [])),
    responses((status = OK, body = AssignmentOut), UpdateErrors)
)]
async fn cancel_assignment(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    Json(input): Json<ReasonIn>,
) -> Result<Response> {
    validate! {
        reason = one(text::optional("reason", input.reason.as_deref(), 500)),
    }
    act(&state, &actor, id, Action::Cancel(reason), Who::Organizer).await
}

/// The volunteer (or an organizer) checks in, from an hour before the start until the end.
#[utoipa::path(
    post,
    path = "/assignments/{id}/check-in",
    tag = "staffing",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = AssignmentOut), UpdateErrors)
)]
async fn check_in(State(state): State<AppState>, Authenticated(actor): Authenticated, Id(id): Id) -> Result<Response> {
    act(&state, &actor, id, Action::CheckIn, Who::VolunteerOrOrganizer).await
}

/// An organizer records that the volunteer did not come.
#[utoipa::path(
    post,
    path = "/assignments/{id}/no-show",
    tag = "staffing",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = AssignmentOut), UpdateErrors)
)]
async fn mark_no_show(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
) -> Result<Response> {
    act(&state, &actor, id, Action::NoShow, Who::Organizer).await
}

/// A volunteer judged for a role.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateOut {
    volunteer_id: i64,
    name: String,
    organization_id: i64,
    tags: Vec<String>,
    /// Hours already assigned in the session's program.
    hours_in_program: f64,
    eligible: bool,
    /// Why the volunteer fits: a line for every rule, then the hours already assigned.
    reasons: Vec<String>,
    /// Every rule assigning the volunteer now would break.
    violations: Vec<Violation>,
}

/// Candidates for a role.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidatesOut {
    role_id: i64,
    needed: i32,
    filled: u64,
    data: Vec<CandidateOut>,
}

/// Options of the candidate list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CandidateQuery {
    /// Also list volunteers who cannot take the seat, with the rules that exclude them.
    include_ineligible: Option<bool>,
    /// At most this many, 1–500 (default 50).
    limit: Option<u64>,
}

/// The volunteers who could fill a role, best first. A volunteer is eligible when assigning
/// them now would be accepted: every rule of `POST /assignments` is applied, a full role and a
/// finished or cancelled session included, and each eligible one comes with a reason for every
/// rule. Those with the fewest hours already assigned in the program come first, so work is
/// spread fairly, then by volunteer id; with `include_ineligible` the others follow in the same
/// order with every rule they break. Every volunteer of the pool is considered, however many.
#[utoipa::path(
    get,
    path = "/session-roles/{id}/candidates",
    tag = "staffing",
    params(("id" = i64, Path), CandidateQuery),
    security(("bearer" = [])),
    responses((status = OK, body = CandidatesOut), ReadErrors, ListErrors)
)]
async fn list_candidates(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    Query(query): Query<CandidateQuery>,
) -> Result<axum::Json<CandidatesOut>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::field("limit", "out_of_range", "must be between 1 and 500"));
    }
    let conn = state.db.reader();
    let role = roles::get(conn, id).await?;
    let session = sessions::get(conn, role.session_id, &Visibility::All).await?;
    let owner = session_owner(conn, &session).await?;
    actor.require_manages(&owner, "this session")?;
    // An organizer may assign only the volunteers of the organizations it manages.
    let within = match &actor {
        Actor::Organizer { path, .. } => Some(path.as_str()),
        _ => None,
    };
    let ranked = candidates::rank(
        conn,
        &role,
        &session,
        &owner,
        within,
        state.policy(),
        candidates::Wanted {
            limit: usize::try_from(limit).unwrap_or(50),
            include_ineligible: query.include_ineligible.unwrap_or(false),
        },
    )
    .await?;
    let filled = roles::filled(conn, &[role.id])
        .await?
        .get(&role.id)
        .copied()
        .unwrap_or(0);
    Ok(axum::Json(CandidatesOut {
        role_id: role.id,
        needed: role.needed,
        filled,
        data: ranked
            .into_iter()
            .map(|c| CandidateOut {
                volunteer_id: c.volunteer.id,
                tags: volunteers::tags(&c.volunteer),
                name: c.volunteer.name,
                organization_id: c.volunteer.organization_id,
                hours_in_program: (c.hours * 10.0).round() / 10.0,
                eligible: c.violations.is_empty(),
                reasons: c.reasons,
                violations: c.violations,
            })
            .collect(),
    }))
}
