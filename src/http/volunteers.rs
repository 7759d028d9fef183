//! `/api/v1/volunteers`: people who staff sessions, with their teams, qualifications and
//! unavailability. Mobile numbers and e-mails are shown in full only to admins, to organizers
//! of the volunteer's organization and to the volunteer; everyone else sees the mobile masked
//! and no e-mail or unavailability.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use entity::volunteer::Model;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, IfMatch, Json, OptionalIfMatch, Query};
use super::openapi::{CreateErrors, DeleteErrors, ListErrors, ReadErrors, SecretErrors, UpdateErrors};
use super::paging::{PageOut, page_request, positive_ids, search};
use super::patch::{Change, Patch};
use super::scope::require_organization;
use super::{AppState, as_field, created, with_etag};
use super::{Feeds, Target, feed_links};
use crate::auth::Actor;
use crate::domain::contact::{self, mask_mobile};
use crate::domain::field::{Checked, FieldError, one};
use crate::domain::key::Key;
use crate::domain::text::{self, NAME_MAX};
use crate::error::{Error, Result};
use crate::store::Fields as _;
use crate::store::volunteers::{self as store, Away, Details, Held, Membership, VolunteerFields, VolunteerFilter};
use crate::store::{Cursor, check_version, organizations, teams};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_volunteers, create_volunteer))
        .routes(routes!(get_volunteer, update_volunteer, delete_volunteer))
        .routes(routes!(rotate_feed_token))
}

const TAGS_MAX: usize = 16;
const TAG_LEN: usize = 32;
const TEAMS_MAX: usize = 50;
const QUALIFICATIONS_MAX: usize = 50;
const UNAVAILABLE_MAX: usize = 200;

/// A team membership.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipIo {
    team_id: i64,
    /// Whether the volunteer leads the team.
    #[serde(default)]
    leader: bool,
}

/// A qualification, valid on the days given (inclusive) when they are set.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualificationIo {
    /// E.g. 执业医师 (licensed physician) or 教师资格 (registered teacher).
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_until: Option<NaiveDate>,
}

/// A time the volunteer cannot serve.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnavailableIn {
    /// RFC 3339 with offset.
    starts_at: String,
    /// RFC 3339 with offset.
    ends_at: String,
    reason: Option<String>,
}

/// A time the volunteer cannot serve.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UnavailableOut {
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    reason: Option<String>,
}

/// A new volunteer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolunteerIn {
    /// Stable key for imports; generated when absent.
    key: Option<String>,
    name: String,
    /// Mainland mobile number.
    mobile: Option<String>,
    email: Option<String>,
    organization_id: i64,
    /// Labels such as 医院院长 or 科学普及.
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    teams: Vec<MembershipIo>,
    #[serde(default)]
    qualifications: Vec<QualificationIo>,
    #[serde(default)]
    unavailable: Vec<UnavailableIn>,
}

/// Changes to a volunteer; lists given replace the stored ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolunteerPatch {
    #[serde(default)]
    name: Change<String>,
    #[serde(default)]
    mobile: Patch<String>,
    #[serde(default)]
    email: Patch<String>,
    #[serde(default)]
    organization_id: Change<i64>,
    #[serde(default)]
    tags: Patch<Vec<String>>,
    #[serde(default)]
    teams: Patch<Vec<MembershipIo>>,
    #[serde(default)]
    qualifications: Patch<Vec<QualificationIo>>,
    #[serde(default)]
    unavailable: Patch<Vec<UnavailableIn>>,
}

/// A volunteer as the reader may see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolunteerOut {
    id: i64,
    key: String,
    name: String,
    /// In full for those who manage the volunteer, `138****1234` for everyone else.
    mobile: Option<String>,
    /// Only for those who manage the volunteer.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    organization_id: i64,
    tags: Vec<String>,
    teams: Vec<MembershipIo>,
    qualifications: Vec<QualificationIo>,
    /// Only for those who manage the volunteer.
    #[serde(skip_serializing_if = "Option::is_none")]
    unavailable: Option<Vec<UnavailableOut>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The calendar feed (iCalendar); only for those who see personal data. The link is a secret: whoever has it reads the volunteer's schedule until it is rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    feed_url: Option<String>,
    /// The same feed as a `webcal://` link, which calendar apps open as a subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    webcal_url: Option<String>,
}

impl VolunteerOut {
    fn new(model: Model, details: Details, full: bool, feeds: &Feeds) -> Self {
        let links = model
            .feed_token
            .clone()
            .filter(|_| full)
            .map(|token| feed_links(feeds, Target::Volunteer(token)));
        let (feed_url, webcal_url) = links.unzip();
        Self {
            feed_url,
            webcal_url,
            tags: store::tags(&model),
            mobile: model.mobile.map(|m| if full { m } else { mask_mobile(&m) }),
            email: model.email.filter(|_| full),
            teams: details
                .teams
                .iter()
                .map(|m| MembershipIo {
                    team_id: m.team_id,
                    leader: m.leader,
                })
                .collect(),
            qualifications: details
                .qualifications
                .iter()
                .map(|q| QualificationIo {
                    name: q.name.clone(),
                    valid_from: q.valid_from,
                    valid_until: q.valid_until,
                })
                .collect(),
            unavailable: full.then(|| {
                details
                    .unavailable
                    .into_iter()
                    .map(|a| UnavailableOut {
                        starts_at: a.window.start(),
                        ends_at: a.window.end(),
                        reason: a.reason,
                    })
                    .collect()
            }),
            id: model.id,
            key: model.key,
            name: model.name,
            organization_id: model.organization_id,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// Whether `actor` sees a volunteer's personal data: admins, organizers of the volunteer's
/// organization, and the volunteer.
pub(super) fn sees_personal_data(actor: &Actor, volunteer_id: i64, organization_path: Option<&str>) -> bool {
    match actor {
        Actor::Volunteer { volunteer_id: own, .. } => *own == volunteer_id,
        other => organization_path.is_some_and(|path| other.manages(path)),
    }
}

/// The volunteers as `actor` may see them.
async fn present(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    models: Vec<Model>,
    feeds: &Feeds,
) -> Result<Vec<VolunteerOut>> {
    let ids: Vec<i64> = models.iter().map(|v| v.id).collect();
    let organizations: Vec<i64> = models.iter().map(|v| v.organization_id).collect();
    let paths = organizations::paths(conn, &organizations).await?;
    let mut details = store::details(conn, &ids).await?;
    Ok(models
        .into_iter()
        .map(|v| {
            let full = sees_personal_data(actor, v.id, paths.get(&v.organization_id).map(String::as_str));
            let own = details.remove(&v.id).unwrap_or_default();
            VolunteerOut::new(v, own, full, feeds)
        })
        .collect())
}

async fn present_one(conn: &impl ConnectionTrait, actor: &Actor, model: Model, feeds: &Feeds) -> Result<VolunteerOut> {
    let mut out = present(conn, actor, vec![model], feeds).await?;
    Ok(out.remove(0))
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
    let model = store::insert(&txn, key, fields, details, state.clock.now()).await?;
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
    let model = store::update(&txn, current, fields, details, state.clock.now()).await?;
    let version = model.version;
    let out = present_one(&txn, &actor, model, &state.feeds).await?;
    txn.commit().await?;
    Ok(with_etag(version, out))
}

/// Gives the volunteer a new personal calendar link; the old one answers 404 from now on.
/// For the volunteer and those who manage them.
#[utoipa::path(
    post,
    path = "/volunteers/{id}/feed-token",
    tag = "volunteers",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = VolunteerOut, headers(("ETag" = String))), SecretErrors)
)]
async fn rotate_feed_token(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let (_, path) = store::with_home(&txn, id).await?;
    if !sees_personal_data(&actor, id, Some(&path)) {
        return Err(Error::Forbidden(
            "only the volunteer and those who manage them can renew the calendar link".into(),
        ));
    }
    let current = store::get_for_update(&txn, id).await?;
    let model = store::rotate_feed_token(&txn, current, state.clock.now()).await?;
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
    store::delete(&txn, current, state.clock.now()).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The new contents of a list in a patch: the stored one when absent, empty for `null`.
fn replace<I, T: Clone>(patch: Patch<Vec<I>>, stored: &[T], parse: fn(&[I]) -> Checked<Vec<T>>) -> Checked<Vec<T>> {
    match patch {
        Patch::Absent => Ok(stored.to_vec()),
        Patch::Null => Ok(Vec::new()),
        Patch::Value(given) => parse(&given),
    }
}

fn optional_mobile(value: Option<&str>) -> Result<Option<String>, FieldError> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| contact::mobile("mobile", v))
        .transpose()
}

fn optional_email(value: Option<&str>) -> Result<Option<String>, FieldError> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| contact::email("email", v))
        .transpose()
}

/// All three lists of a new volunteer.
fn details(
    teams: &[MembershipIo],
    qualifications: &[QualificationIo],
    unavailable: &[UnavailableIn],
) -> Checked<Details> {
    validate! {
        teams = memberships(teams),
        qualifications = held(qualifications),
        unavailable = away(unavailable),
    }
    Ok(Details {
        teams,
        qualifications,
        unavailable,
    })
}

fn memberships(given: &[MembershipIo]) -> Checked<Vec<Membership>> {
    if given.len() > TEAMS_MAX {
        return Err(vec![FieldError::new(
            "teams",
            "too_many",
            format!("at most {TEAMS_MAX} teams"),
        )]);
    }
    Ok(given
        .iter()
        .map(|m| Membership {
            team_id: m.team_id,
            leader: m.leader,
        })
        .collect())
}

fn held(given: &[QualificationIo]) -> Checked<Vec<Held>> {
    if given.len() > QUALIFICATIONS_MAX {
        let message = format!("at most {QUALIFICATIONS_MAX} qualifications");
        return Err(vec![FieldError::new("qualifications", "too_many", message)]);
    }
    store::parse_all(given, |i, q| {
        Held::parse(&format!("qualifications[{i}]"), &q.name, q.valid_from, q.valid_until)
    })
}

fn away(given: &[UnavailableIn]) -> Checked<Vec<Away>> {
    if given.len() > UNAVAILABLE_MAX {
        let message = format!("at most {UNAVAILABLE_MAX} windows");
        return Err(vec![FieldError::new("unavailable", "too_many", message)]);
    }
    store::parse_all(given, |i, u| {
        Away::parse(
            &format!("unavailable[{i}]"),
            &u.starts_at,
            &u.ends_at,
            u.reason.as_deref(),
        )
    })
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
