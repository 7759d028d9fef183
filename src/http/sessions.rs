//! `/api/v1/sessions`: occurrences of activities, including linked (video) slots.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use entity::kinds::SessionStatus;
use entity::session::Model;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::assignments::{AssignmentOut, present};
use super::extract::{Authenticated, Id, IfMatch, Json, OptionalIfMatch, Query};
use super::openapi::{CreateErrors, DeleteErrors, ListErrors, ReadErrors, UpdateErrors};
use super::paging::{PageOut, page_request, positive_ids, search};
use super::patch::{Change, Patch};
use super::scope::{require_session_manager, require_venue_use};
use super::{AppState, as_field, created, with_etag};
use crate::auth::Actor;
use crate::domain::field::{Checked, FieldError, one};
use crate::domain::key::Key;
use crate::domain::text::{self, DESCRIPTION_MAX, NAME_MAX};
use crate::domain::time::{Bound, Schedule, ScheduleInput, TimeInput, check_date};
use crate::domain::web::http_url;
use crate::domain::zone::Zone;
use crate::error::Result;
use crate::store::Fields as _;
use crate::store::sessions::{self as store, SessionFields, SessionFilter, schedule_of};
use crate::store::{Cursor, check_version, organizations, venues};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions, create_session))
        .routes(routes!(get_session, update_session, delete_session))
}

/// Most seats a session may announce.
const CAPACITY_MAX: i32 = 1_000_000;

/// A new session. Timed sessions take `starts_at` and `ends_at`; all-day ones `all_day`,
/// `start_date` and optionally `end_date` (inclusive).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionIn {
    /// Stable key for imports; generated when absent.
    key: Option<String>,
    activity_id: i64,
    venue_id: i64,
    /// Title of this occurrence when it differs from the activity's.
    title: Option<String>,
    description: Option<String>,
    /// IANA zone; defaults to the venue's.
    time_zone: Option<String>,
    /// Whole days rather than a time window; default false.
    all_day: Option<bool>,
    /// RFC 3339 with offset, or a local time (2019-05-28T09:00) read in `time_zone`.
    starts_at: Option<String>,
    /// RFC 3339 with offset, or a local time read in `time_zone`.
    ends_at: Option<String>,
    /// First day of an all-day session.
    start_date: Option<NaiveDate>,
    /// Last day of an all-day session, inclusive; defaults to `start_date`.
    end_date: Option<NaiveDate>,
    /// Default `scheduled`.
    status: Option<SessionStatus>,
    /// Seats, 0–1,000,000.
    capacity: Option<i32>,
    /// Video conference address (http or https).
    video_url: Option<String>,
    /// The remote slot (e.g. the Beijing main venue) this session follows.
    linked_session_id: Option<i64>,
    /// Invented for sample data.
    #[serde(default)]
    illustrative: bool,
}

/// Changes to a session (its activity never changes). Giving only `starts_at` moves the
/// session and keeps its length. Moving or cancelling a slot moves or cancels the sessions
/// linked to it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPatch {
    #[serde(default)]
    venue_id: Change<i64>,
    #[serde(default)]
    title: Patch<String>,
    #[serde(default)]
    description: Patch<String>,
    #[serde(default)]
    time_zone: Change<String>,
    #[serde(default)]
    all_day: Change<bool>,
    #[serde(default)]
    starts_at: Change<String>,
    #[serde(default)]
    ends_at: Change<String>,
    #[serde(default)]
    start_date: Patch<NaiveDate>,
    #[serde(default)]
    end_date: Patch<NaiveDate>,
    #[serde(default)]
    status: Change<SessionStatus>,
    #[serde(default)]
    capacity: Patch<i32>,
    #[serde(default)]
    video_url: Patch<String>,
    #[serde(default)]
    linked_session_id: Patch<i64>,
    #[serde(default)]
    illustrative: Change<bool>,
}

/// A session. Times are shown in the session's own zone.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    id: i64,
    key: String,
    program_id: i64,
    activity_id: i64,
    venue_id: i64,
    title: Option<String>,
    description: Option<String>,
    time_zone: String,
    all_day: bool,
    /// For all-day sessions, local midnight of the first day.
    starts_at: DateTime<FixedOffset>,
    /// For all-day sessions, local midnight after the last day.
    ends_at: DateTime<FixedOffset>,
    /// First day (all-day sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    start_date: Option<NaiveDate>,
    /// Last day, inclusive (all-day sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    end_date: Option<NaiveDate>,
    status: SessionStatus,
    capacity: Option<i32>,
    video_url: Option<String>,
    linked_session_id: Option<i64>,
    illustrative: bool,
    /// Increases with every change; the ETag is this number in quotes.
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Model> for SessionOut {
    fn from(model: Model) -> Self {
        let schedule = schedule_of(&model);
        Self {
            starts_at: schedule.local_start(),
            ends_at: schedule.local_end(),
            id: model.id,
            key: model.key,
            program_id: model.program_id,
            activity_id: model.activity_id,
            venue_id: model.venue_id,
            title: model.title,
            description: model.description,
            time_zone: model.time_zone,
            all_day: model.all_day,
            start_date: model.start_date,
            end_date: model.end_date,
            status: model.status,
            capacity: model.capacity,
            video_url: model.video_url,
            linked_session_id: model.linked_session_id,
            illustrative: model.illustrative,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// A session after an update, with the linked sessions that followed it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionChangeOut {
    #[serde(flatten)]
    session: SessionOut,
    /// Sessions linked to this one that moved or were cancelled with it.
    linked_sessions_updated: Vec<SessionOut>,
    /// Assignments that clash with something since the move; they are flagged, not dropped.
    flagged_assignments: Vec<AssignmentOut>,
    /// Assignments cancelled because their session was.
    cancelled_assignments: Vec<AssignmentOut>,
}

/// Filters of the session list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    program_id: Option<i64>,
    activity_id: Option<i64>,
    /// Of activities organized by this organization or one below it.
    organization_id: Option<i64>,
    venue_id: Option<i64>,
    status: Option<SessionStatus>,
    /// Sessions linked to this slot.
    linked_session_id: Option<i64>,
    /// Sessions ending after this day (YYYY-MM-DD, in the program's time zone, else the
    /// venue's, else Asia/Shanghai) or instant (RFC 3339 with offset), as feeds read it.
    from: Option<String>,
    /// Sessions starting before this day (read as `from`) or instant.
    to: Option<String>,
    /// Only those created or changed at or after this instant (RFC 3339 with offset): what a
    /// client keeping a copy has not seen yet.
    updated_since: Option<String>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

/// Lists the sessions the caller may see, in start order.
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "sessions",
    params(SessionQuery),
    responses((status = OK, body = PageOut<SessionOut>), ListErrors)
)]
async fn list_sessions(
    State(state): State<AppState>,
    actor: Actor,
    Query(query): Query<SessionQuery>,
) -> Result<PageOut<SessionOut>> {
    validate! {
        search = search(None, query.updated_since.as_deref()),
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Timed(..))),
        from = one(query.from.as_deref().map(|t| Bound::parse("from", t)).transpose()),
        to = one(query.to.as_deref().map(|t| Bound::parse("to", t)).transpose()),
        _ids = positive_ids(&[
            ("program_id", query.program_id),
            ("activity_id", query.activity_id),
            ("organization_id", query.organization_id),
            ("venue_id", query.venue_id),
            ("linked_session_id", query.linked_session_id),
        ]),
    }
    validate! {
        _order = one(Bound::in_order(from, to)),
    }
    let zone = super::window_zone(state.db.reader(), query.program_id, query.venue_id).await?;
    let (from, to) = (from.map(|b| b.instant(zone)), to.map(|b| b.instant(zone)));
    let filter = SessionFilter {
        program_id: query.program_id,
        activity_id: query.activity_id,
        organization_id: query.organization_id,
        venue_id: query.venue_id,
        status: query.status,
        linked_session_id: query.linked_session_id,
        from,
        to,
        search,
    };
    let page = store::list(state.db.reader(), &filter, &actor.visibility(), &page)
        .await
        .map_err(as_field("organization_id"))?;
    Ok(page.map(SessionOut::from).into())
}

/// Reads one session.
#[utoipa::path(
    get,
    path = "/sessions/{id}",
    tag = "sessions",
    params(("id" = i64, Path)),
    responses((status = OK, body = SessionOut, headers(("ETag" = String))), ReadErrors)
)]
async fn get_session(State(state): State<AppState>, actor: Actor, Id(id): Id) -> Result<Response> {
    let model = store::get(state.db.reader(), id, &actor.visibility()).await?;
    Ok(with_etag(model.version, SessionOut::from(model)))
}

/// Creates a session of an activity the caller manages.
#[utoipa::path(
    post,
    path = "/sessions",
    tag = "sessions",
    request_body = SessionIn,
    security(("bearer" = [])),
    responses((status = CREATED, body = SessionOut, headers(("ETag" = String), ("Location" = String))), CreateErrors)
)]
async fn create_session(State(state): State<AppState>, actor: Actor, Json(input): Json<SessionIn>) -> Result<Response> {
    validate! {
        key = one(Key::parse_or_generate("key", input.key.as_deref(), "session")),
        title = one(text::optional("title", input.title.as_deref(), NAME_MAX)),
        description = one(text::optional_multiline("description", input.description.as_deref(), DESCRIPTION_MAX)),
        times = schedule_input(
            input.time_zone.as_deref(),
            input.all_day,
            input.starts_at.as_deref(),
            input.ends_at.as_deref(),
            input.start_date,
            input.end_date,
        ),
        capacity = one(capacity(input.capacity)),
        video_url = one(input.video_url.as_deref().map(|u| http_url("video_url", u)).transpose()),
    }
    let txn = state.db.begin().await?;
    let activity = crate::store::activities::get_for_update(&txn, input.activity_id)
        .await
        .map_err(as_field("activity_id"))?;
    let organizer = organizations::get(&txn, activity.organization_id).await?;
    actor.require_manages(&organizer.path, "the activity")?;
    let venue = venues::get(&txn, input.venue_id).await.map_err(as_field("venue_id"))?;
    require_venue_use(&txn, &actor, &venue).await?;
    validate! {
        schedule = Schedule::create(times, Zone::from_stored(&venue.time_zone)),
    }
    let fields = SessionFields {
        venue_id: venue.id,
        title,
        description,
        schedule,
        status: input.status.unwrap_or(SessionStatus::Scheduled),
        capacity,
        video_url,
        linked_session_id: input.linked_session_id,
        illustrative: input.illustrative,
    };
    let model = store::insert(&txn, key, &activity, fields, state.clock.now()).await?;
    state.audit(&actor).created(&txn, &model).await?;
    txn.commit().await?;
    Ok(created(
        format!("/api/v1/sessions/{}", model.id),
        model.version,
        SessionOut::from(model),
    ))
}

/// Updates a session (JSON merge patch). Needs `If-Match`. The answer lists the linked
/// sessions that moved or were cancelled with it.
#[utoipa::path(
    patch,
    path = "/sessions/{id}",
    tag = "sessions",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "ETag of the version being changed, or *")),
    request_body(content = SessionPatch, content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses((status = OK, body = SessionChangeOut, headers(("ETag" = String))), UpdateErrors)
)]
async fn update_session(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    IfMatch(precondition): IfMatch,
    Json(patch): Json<SessionPatch>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    require_session_manager(&txn, &actor, &current).await?;
    check_version(&precondition, current.version)?;
    let old = SessionFields::of(&current);
    let venue_id = patch.venue_id.apply(old.venue_id);
    let status = patch.status.apply(old.status);
    let illustrative = patch.illustrative.apply(old.illustrative);
    validate! {
        title = one(text::optional("title", patch.title.apply(old.title.clone()).as_deref(), NAME_MAX)),
        description = one(text::optional_multiline("description", patch.description.apply(old.description.clone()).as_deref(), DESCRIPTION_MAX)),
        capacity = one(capacity(patch.capacity.apply(old.capacity))),
        video_url = one(patch.video_url.apply(old.video_url.clone()).as_deref().map(|u| http_url("video_url", u)).transpose()),
        times = schedule_input(
            patch.time_zone.into_option().as_deref(),
            patch.all_day.into_option(),
            patch.starts_at.into_option().as_deref(),
            patch.ends_at.into_option().as_deref(),
            patch.start_date.into_option().flatten(),
            patch.end_date.into_option().flatten(),
        ),
    }
    validate! {
        schedule = if times.is_empty() { Ok(old.schedule) } else { old.schedule.update(times) },
    }
    if venue_id != old.venue_id {
        let venue = venues::get(&txn, venue_id).await.map_err(as_field("venue_id"))?;
        require_venue_use(&txn, &actor, &venue).await?;
    }
    let fields = SessionFields {
        venue_id,
        title,
        description,
        schedule,
        status,
        capacity,
        video_url,
        linked_session_id: patch.linked_session_id.apply(old.linked_session_id),
        illustrative,
    };
    let updated = store::update(&txn, current, fields, state.policy(), &state.audit(&actor)).await?;
    txn.commit().await?;
    let conn = state.db.reader();
    Ok(with_etag(
        updated.session.version,
        SessionChangeOut {
            session: updated.session.into(),
            linked_sessions_updated: updated.followers.into_iter().map(SessionOut::from).collect(),
            flagged_assignments: present(conn, &actor, updated.flagged).await?,
            cancelled_assignments: present(conn, &actor, updated.cancelled).await?,
        },
    ))
}

/// Deletes a session that no other session links to. Calendar feeds go on showing it as
/// cancelled for a while, so subscribers learn of it.
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "sessions",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on")),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Deleted"), DeleteErrors)
)]
async fn delete_session(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    OptionalIfMatch(precondition): OptionalIfMatch,
) -> Result<StatusCode> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    require_session_manager(&txn, &actor, &current).await?;
    if let Some(precondition) = precondition {
        check_version(&precondition, current.version)?;
    }
    store::delete(&txn, current, state.clock.now(), &state.audit(&actor)).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads the time fields of a request; how they combine is the schedule's business.
pub(crate) fn schedule_input(
    time_zone: Option<&str>,
    all_day: Option<bool>,
    starts_at: Option<&str>,
    ends_at: Option<&str>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
) -> Checked<ScheduleInput> {
    validate! {
        zone = one(time_zone.map(|z| Zone::parse("time_zone", z)).transpose()),
        starts_at = one(starts_at.map(|t| TimeInput::parse("starts_at", t)).transpose()),
        ends_at = one(ends_at.map(|t| TimeInput::parse("ends_at", t)).transpose()),
        start_date = one(start_date.map(|d| check_date("start_date", d)).transpose()),
        end_date = one(end_date.map(|d| check_date("end_date", d)).transpose()),
    }
    Ok(ScheduleInput {
        zone,
        all_day,
        starts_at,
        ends_at,
        start_date,
        end_date,
    })
}

fn capacity(value: Option<i32>) -> Result<Option<i32>, FieldError> {
    match value {
        Some(n) if !(0..=CAPACITY_MAX).contains(&n) => Err(FieldError::new(
            "capacity",
            "out_of_range",
            format!("must be between 0 and {CAPACITY_MAX}"),
        )),
        other => Ok(other),
    }
}
