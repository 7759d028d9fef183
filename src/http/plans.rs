//! `/api/v1/programs/{id}/plans`: preparation plans (附件1 筹备工作方案) — submitted and revised
//! by organizations before the deadline, reviewed by the host association, exported for the
//! province — with their attachments, the extensions admins grant, and who has not submitted.

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};
use entity::kinds::{AttachmentKind, OrganizationKind, PlanReview, SessionStatus, VenueKind};
use entity::plan::Model as Plan;
use entity::plan_extension::Model as Extension;
use entity::program::Model as Program;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, Ids, Ids3, IfMatch, Json, OptionalIfMatch, Query};
use super::openapi::{ActionErrors, CreateErrors, DeleteErrors, ListErrors, ReadErrors, UpdateErrors};
use super::organizations::ContactIn;
use super::paging::{PageOut, page_request, positive_ids};
use super::{AppState, as_field, created, download, with_etag};
use crate::auth::Actor;
use crate::domain::field::{FieldError, one};
use crate::domain::key::Key;
use crate::domain::notice::instant_text;
use crate::domain::plan::{self, ATTACHMENT_MAX, ATTACHMENTS_PER_PLAN};
use crate::domain::text::{self, NAME_MAX};
use crate::domain::time::{Schedule, TimeInput, TimeWindow, Timing};
use crate::domain::zone::Zone;
use crate::error::{Error, Result};
use crate::store::plans::{self as store, AttachmentInfo, PlanContact, PlanFields, PlanFilter};
use crate::store::sessions::{self, SessionFields};
use crate::store::{Cursor, Visibility, activities, check_version, organizations, plan_notices, programs, venues};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    // Attachments are larger than any JSON body; only their route takes them.
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload_attachment))
        .layer(DefaultBodyLimit::max(ATTACHMENT_MAX + 64 * 1024));
    OpenApiRouter::new()
        .routes(routes!(list_plans, submit_plan))
        .routes(routes!(missing_plans))
        .routes(routes!(export_plans))
        .routes(routes!(get_plan, revise_plan))
        .routes(routes!(plan_revisions))
        .routes(routes!(review_plan))
        .routes(routes!(download_attachment))
        .routes(routes!(list_extensions))
        .routes(routes!(grant_extension, revoke_extension))
        .merge(uploads)
}

/// The longest comment a reviewer may write.
const COMMENT_MAX: usize = 2_000;

/// The longest reason for an extension.
const REASON_MAX: usize = 500;

/// The kinds of place a plan may name as its platform (对接入驻平台).
const PLATFORM_KINDS: [VenueKind; 3] = [
    VenueKind::PartyMassesServiceCenter,
    VenueKind::CivilizationPracticeCenter,
    VenueKind::Other,
];

/// A plan as an organization fills in the form (附件1).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanIn {
    /// The host unit (主办单位): the submitting organization. An organizer's own when absent;
    /// admins name it.
    organization_id: Option<i64>,
    /// 主题活动名称.
    activity_name: String,
    /// 承办单位名称.
    organizing_unit: String,
    /// 对接入驻平台: a venue of kind `party_masses_service_center`,
    /// `civilization_practice_center` or `other`.
    venue_id: i64,
    /// 座谈会当天与北京主场视频连线: whether it joins the Beijing video link on the day.
    joins_video_link: bool,
    /// 联系人: name and mobile are required; office phone and fax with area code.
    contact: ContactIn,
    /// The plan: ideas, how the team is formed, main activities, the flag-ceremony format,
    /// scale, attendees, draft agenda and timeline (about 800 characters; 20–5,000).
    text: String,
}

/// A plan's contact as shown to those who may read the plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanContactOut {
    name: String,
    office_phone: Option<String>,
    mobile: String,
    fax: Option<String>,
    email: Option<String>,
}

impl From<PlanContact> for PlanContactOut {
    fn from(contact: PlanContact) -> Self {
        Self {
            name: contact.name,
            office_phone: contact.office_phone,
            mobile: contact.mobile,
            fax: contact.fax,
            email: contact.email,
        }
    }
}

/// The form's fields as submitted (a plan's latest version, or any earlier one).
#[derive(Debug, Serialize, ToSchema)]
pub struct FormOut {
    activity_name: String,
    organizing_unit: String,
    /// The platform (对接入驻平台).
    venue_id: i64,
    joins_video_link: bool,
    contact: PlanContactOut,
    text: String,
}

impl From<PlanFields> for FormOut {
    fn from(fields: PlanFields) -> Self {
        Self {
            activity_name: fields.activity_name,
            organizing_unit: fields.organizing_unit,
            venue_id: fields.venue_id,
            joins_video_link: fields.joins_video_link,
            contact: fields.contact.into(),
            text: fields.text,
        }
    }
}

/// Where a plan stands in the review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewOut {
    status: PlanReview,
    comment: Option<String>,
    reviewed_at: Option<DateTime<Utc>>,
}

/// An uploaded attachment.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentOut {
    id: i64,
    /// What the content is (`pdf` or `docx`), whatever the file was called.
    kind: AttachmentKind,
    file_name: String,
    size: i64,
    /// Hex SHA-256 of the content.
    sha256: String,
    uploaded_at: DateTime<Utc>,
    /// The latest upload of its kind.
    current: bool,
    /// Where it is downloaded (by the organization and admins).
    url: String,
}

/// A plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanOut {
    id: i64,
    program_id: i64,
    /// The host unit (主办单位).
    organization_id: i64,
    organization_name: String,
    #[serde(flatten)]
    form: FormOut,
    /// How many versions were submitted; every one is kept.
    revision: i32,
    review: ReviewOut,
    /// The flag-ceremony session made on approval, linked to the Beijing slot.
    session_id: Option<i64>,
    submitted_at: DateTime<Utc>,
    revised_at: DateTime<Utc>,
    /// Until when the organization may still revise it (the deadline, or its extension), in
    /// the program's zone; absent when the program has no deadline.
    open_until: Option<DateTime<FixedOffset>>,
    attachments: Vec<AttachmentOut>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// What a plan is shown with besides its row.
struct Context<'a> {
    program: &'a Program,
    organization_names: HashMap<i64, String>,
    extensions: HashMap<i64, DateTime<Utc>>,
    attachments: HashMap<i64, Vec<AttachmentInfo>>,
}

impl<'a> Context<'a> {
    async fn read(conn: &impl ConnectionTrait, program: &'a Program, plans: &[Plan]) -> Result<Self> {
        let organization_ids: Vec<i64> = plans.iter().map(|p| p.organization_id).collect();
        let plan_ids: Vec<i64> = plans.iter().map(|p| p.id).collect();
        let mut attachments: HashMap<i64, Vec<AttachmentInfo>> = HashMap::new();
        for (plan, info) in store::attachments(conn, &plan_ids).await? {
            attachments.entry(plan).or_default().push(info);
        }
        Ok(Self {
            program,
            organization_names: organizations::names(conn, &organization_ids).await?,
            extensions: store::extensions_of(conn, program.id, Some(&organization_ids))
                .await?
                .into_iter()
                .map(|e| (e.organization_id, e.until))
                .collect(),
            attachments,
        })
    }

    fn out(&mut self, plan: Plan) -> PlanOut {
        let zone = Zone::from_stored(&self.program.time_zone);
        let open_until = self.program.plan_deadline.map(|deadline| {
            let extended = self.extensions.get(&plan.organization_id).copied();
            local(extended.map_or(deadline, |e| e.max(deadline)), zone)
        });
        let uploads = self.attachments.remove(&plan.id).unwrap_or_default();
        let attachments = uploads
            .iter()
            .map(|a| AttachmentOut {
                id: a.id,
                kind: a.kind,
                file_name: a.file_name.clone(),
                size: a.size,
                sha256: a.sha256.clone(),
                uploaded_at: a.created_at,
                current: !uploads.iter().any(|b| b.kind == a.kind && b.id > a.id),
                url: format!(
                    "/api/v1/programs/{}/plans/{}/attachments/{}",
                    plan.program_id, plan.id, a.id
                ),
            })
            .collect();
        let form = PlanFields::of(&plan).into();
        PlanOut {
            id: plan.id,
            program_id: plan.program_id,
            organization_id: plan.organization_id,
            organization_name: self
                .organization_names
                .get(&plan.organization_id)
                .cloned()
                .unwrap_or_default(),
            form,
            revision: plan.revision,
            review: ReviewOut {
                status: plan.review,
                comment: plan.review_comment,
                reviewed_at: plan.reviewed_at,
            },
            session_id: plan.session_id,
            submitted_at: plan.submitted_at,
            revised_at: plan.revised_at,
            open_until,
            attachments,
            version: plan.version,
            created_at: plan.created_at,
            updated_at: plan.updated_at,
        }
    }
}

async fn plan_out(conn: &impl ConnectionTrait, program: &Program, plan: Plan) -> Result<PlanOut> {
    let mut context = Context::read(conn, program, std::slice::from_ref(&plan)).await?;
    Ok(context.out(plan))
}

fn local(at: DateTime<Utc>, zone: Zone) -> DateTime<FixedOffset> {
    at.with_timezone(&zone.tz()).fixed_offset()
}

/// Whose plans the caller may read and change: every organization's (admins, `None`) or its
/// own organization's only (organizers — not even those of the organizations below it, whose
/// plans are theirs to submit).
fn plan_scope(actor: &Actor) -> Result<Option<i64>> {
    actor.require_token()?;
    match actor {
        Actor::Admin { .. } => Ok(None),
        Actor::Organizer { organization_id, .. } => Ok(Some(*organization_id)),
        _ => Err(Error::Forbidden(
            "only the submitting organization's organizers and admins see plans".to_owned(),
        )),
    }
}

/// Fails unless the caller may read and change the organization's plan.
fn require_plan_access(actor: &Actor, organization_id: i64) -> Result<()> {
    match plan_scope(actor)? {
        Some(own) if own != organization_id => Err(Error::Forbidden(
            "the plan belongs to another organization; only its own organizers and admins see it".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Refuses a submission, revision or upload after the deadline, unless the organization was
/// granted an extension that still runs.
async fn require_open(
    conn: &impl ConnectionTrait,
    program: &Program,
    organization_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(deadline) = program.plan_deadline else {
        return Ok(());
    };
    let extension = store::extension(conn, program.id, organization_id).await?;
    let until = extension.as_ref().map(|e| e.until);
    if plan::open_at(deadline, until, now) {
        return Ok(());
    }
    let zone = Zone::from_stored(&program.time_zone);
    let last = until.map_or(deadline, |u| u.max(deadline));
    Err(Error::conflict(
        "deadline_passed",
        format!(
            "plans were due by {}; it is now {}. Ask the association for an extension",
            instant_text(last, zone, true),
            instant_text(now, zone, true)
        ),
    ))
}

/// The form's fields, checked as a clerk would fill them in.
async fn fields_of(conn: &impl ConnectionTrait, input: &PlanIn) -> Result<PlanFields> {
    validate! {
        activity_name = one(text::required("activity_name", &input.activity_name, NAME_MAX)),
        organizing_unit = one(text::required("organizing_unit", &input.organizing_unit, NAME_MAX)),
        contact = contact_of(&input.contact),
        text = one(plan::plan_text("text", &input.text)),
    }
    let venue = venues::get(conn, input.venue_id).await.map_err(as_field("venue_id"))?;
    if !PLATFORM_KINDS.contains(&venue.kind) {
        return Err(Error::field(
            "venue_id",
            "wrong_kind",
            "the platform must be a party-masses service center, a civilization practice center or another venue of kind other",
        ));
    }
    Ok(PlanFields {
        activity_name,
        organizing_unit,
        venue_id: venue.id,
        joins_video_link: input.joins_video_link,
        contact,
        text,
    })
}

fn contact_of(input: &ContactIn) -> std::result::Result<PlanContact, Vec<FieldError>> {
    let contact = input.parse("contact")?;
    let mut missing = Vec::new();
    if contact.name.is_none() {
        missing.push(FieldError::new("contact.name", "required", "name the contact person"));
    }
    if contact.mobile.is_none() {
        missing.push(FieldError::new(
            "contact.mobile",
            "required",
            "give the contact's mobile number",
        ));
    }
    PlanContact::from_contact(contact).ok_or(missing)
}

/// Filters of a program's plan list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// Of this organization.
    organization_id: Option<i64>,
    /// At this step of the review.
    review: Option<PlanReview>,
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
async fn list_plans(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(program_id): Id,
    Query(query): Query<PlanQuery>,
) -> Result<axum::Json<PageOut<PlanOut>>> {
    validate! {
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
    };
    let page = store::list(conn, program.id, &filter, &page).await?;
    let mut context = Context::read(conn, &program, &page.items).await?;
    Ok(axum::Json(PageOut {
        next_cursor: page.next.map(|c| c.encode()),
        data: page.items.into_iter().map(|p| context.out(p)).collect(),
    }))
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
async fn submit_plan(
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
async fn get_plan(
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
async fn revise_plan(
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
async fn plan_revisions(
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

/// A reviewer's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewIn {
    /// The next step: submitted → shortlisted → forwarded → selected, or not_selected from
    /// any open step.
    status: PlanReview,
    /// What the organization reads about the decision.
    comment: Option<String>,
    /// With an approval (any step but not_selected) of a plan that joins the video link:
    /// make the organization's flag-ceremony session at its platform, linked to the Beijing slot.
    #[serde(default)]
    create_session: bool,
    /// The slot to link to, when the program has more than one remote main-venue session.
    linked_session_id: Option<i64>,
}

/// A review step as the API spells it (`not_selected`).
fn review_name(review: PlanReview) -> String {
    sea_orm::ActiveEnum::to_value(&review)
}

/// Moves a plan's review on (admins). An approval can make the organization's flag-ceremony
/// session, linked to the Beijing slot, in the same transaction.
#[utoipa::path(
    post,
    path = "/programs/{id}/plans/{plan_id}/review",
    tag = "plans",
    params(
        ("id" = i64, Path),
        ("plan_id" = i64, Path),
        ("If-Match" = Option<String>, Header, description = "ETag the decision is based on")
    ),
    request_body = ReviewIn,
    security(("bearer" = [])),
    responses((status = OK, body = PlanOut, headers(("ETag" = String))), UpdateErrors)
)]
async fn review_plan(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(program_id, plan_id): Ids,
    OptionalIfMatch(precondition): OptionalIfMatch,
    Json(input): Json<ReviewIn>,
) -> Result<Response> {
    actor.require_admin()?;
    validate! {
        comment = one(text::optional_multiline("comment", input.comment.as_deref(), COMMENT_MAX)),
        _slot = positive_ids(&[("linked_session_id", input.linked_session_id)]),
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let program = programs::get(&txn, program_id).await?;
    let current = store::get_for_update(&txn, program.id, plan_id).await?;
    if let Some(precondition) = precondition {
        check_version(&precondition, current.version)?;
    }
    if !current.review.may_become(input.status) {
        let next: Vec<String> = <PlanReview as sea_orm::Iterable>::iter()
            .filter(|to| current.review.may_become(*to))
            .map(review_name)
            .collect();
        let detail = if next.is_empty() {
            format!("the review has ended ({})", review_name(current.review))
        } else {
            format!(
                "a {} plan can become {}, not {}",
                review_name(current.review),
                next.join(" or "),
                review_name(input.status)
            )
        };
        return Err(Error::conflict("invalid_transition", detail));
    }
    let session = if input.create_session {
        Some(flag_ceremony(&txn, &program, &current, &input, now).await?)
    } else {
        None
    };
    let model = store::review(&txn, current, input.status, comment, session, now).await?;
    let version = model.version;
    let out = plan_out(&txn, &program, model).await?;
    txn.commit().await?;
    Ok(with_etag(version, out))
}

/// Makes the organization's flag-ceremony session for an approved plan: at the plan's
/// platform, at the time of the Beijing slot and following it when it moves.
async fn flag_ceremony(
    txn: &DatabaseTransaction,
    program: &Program,
    plan: &Plan,
    input: &ReviewIn,
    now: DateTime<Utc>,
) -> Result<i64> {
    if input.status == PlanReview::NotSelected {
        return Err(Error::field(
            "create_session",
            "not_approved",
            "a session is made only when the plan is approved",
        ));
    }
    if !plan.joins_video_link {
        return Err(Error::conflict(
            "no_video_link",
            "the plan does not join the Beijing video link",
        ));
    }
    if let Some(existing) = plan.session_id {
        return Err(Error::conflict(
            "session_exists",
            format!("the plan's flag-ceremony session is session {existing}"),
        ));
    }
    let slot = match input.linked_session_id {
        Some(id) => {
            let slot = sessions::get(txn, id, &Visibility::All)
                .await
                .map_err(as_field("linked_session_id"))?;
            if slot.program_id != program.id {
                return Err(Error::field(
                    "linked_session_id",
                    "other_program",
                    "the slot belongs to another program",
                ));
            }
            slot
        }
        None => {
            let mut slots = sessions::remote_slots(txn, program.id).await?;
            match slots.len() {
                1 => slots.remove(0),
                0 => {
                    return Err(Error::conflict(
                        "no_slot",
                        "the program has no session at a remote main venue to link to; schedule the Beijing slot first",
                    ));
                }
                n => {
                    return Err(Error::field(
                        "linked_session_id",
                        "required",
                        format!("the program has {n} remote main-venue sessions; name the one to link to"),
                    ));
                }
            }
        }
    };
    if slot.status != SessionStatus::Scheduled || slot.all_day {
        return Err(Error::conflict(
            "no_slot",
            "the Beijing slot is cancelled or has no time of day to follow",
        ));
    }
    let activity = activities::get_for_update(txn, slot.activity_id).await?;
    let organization = organizations::get(txn, plan.organization_id).await?;
    let venue = venues::get(txn, plan.venue_id).await?;
    let name = organization.short_name.as_deref().unwrap_or(&organization.name);
    let fields = SessionFields {
        venue_id: venue.id,
        title: Some(format!("授旗仪式（{name}分会场）")),
        description: Some(format!(
            "{}“{}”分会场，与北京主会场视频连线；时间随北京主会场。",
            organization.name, plan.activity_name
        )),
        schedule: Schedule::from_stored(
            Zone::from_stored(&venue.time_zone),
            Timing::Timed(TimeWindow::from_stored(slot.starts_at, slot.ends_at)),
        ),
        status: SessionStatus::Scheduled,
        capacity: None,
        video_url: slot.video_url.clone(),
        linked_session_id: Some(slot.id),
        illustrative: false,
    };
    let session = sessions::insert(txn, Key::generate("session"), &activity, fields, now).await?;
    Ok(session.id)
}

/// Uploads the stamped PDF or the Word file (`multipart/form-data`, one part named `file`, up
/// to 20 MiB). What it is comes from its content: a PDF starts with `%PDF-`, a .docx is a zip
/// with a Word document inside; anything else is refused whatever it is called.
#[utoipa::path(
    post,
    path = "/programs/{id}/plans/{plan_id}/attachments",
    tag = "plans",
    params(("id" = i64, Path), ("plan_id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "One part named `file`"),
    security(("bearer" = [])),
    responses((status = CREATED, body = AttachmentOut, headers(("Location" = String))), CreateErrors)
)]
async fn upload_attachment(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(program_id, plan_id): Ids,
    multipart: std::result::Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response> {
    let now = state.clock.now();
    {
        // Who may upload and whether it is still time are known before the body is read.
        let conn = state.db.reader();
        let program = programs::get(conn, program_id).await?;
        let plan = store::get(conn, program.id, plan_id).await?;
        require_plan_access(&actor, plan.organization_id)?;
        require_open(conn, &program, plan.organization_id, now).await?;
    }
    let mut multipart = multipart.map_err(|rejection| {
        Error::UnsupportedMediaType(format!(
            "send the file as multipart/form-data with one part named file ({rejection})"
        ))
    })?;
    let (file_name, content) = read_file_part(&mut multipart).await?;
    let kind = plan::sniff(&content).map_err(|why| Error::field("file", "unsupported_content", why.message()))?;
    let txn = state.db.begin().await?;
    let program = programs::get(&txn, program_id).await?;
    let plan = store::get_for_update(&txn, program.id, plan_id).await?;
    require_open(&txn, &program, plan.organization_id, now).await?;
    if store::attachment_count(&txn, plan.id).await? >= ATTACHMENTS_PER_PLAN {
        return Err(Error::conflict(
            "too_many_attachments",
            format!("a plan keeps at most {ATTACHMENTS_PER_PLAN} uploads; ask the association if more are needed"),
        ));
    }
    let info = store::attach(&txn, plan.id, kind, file_name, content, now).await?;
    txn.commit().await?;
    let url = format!(
        "/api/v1/programs/{}/plans/{}/attachments/{}",
        program.id, plan.id, info.id
    );
    let out = AttachmentOut {
        id: info.id,
        kind: info.kind,
        file_name: info.file_name,
        size: info.size,
        sha256: info.sha256,
        uploaded_at: info.created_at,
        current: true,
        url: url.clone(),
    };
    let mut response = (StatusCode::CREATED, axum::Json(out)).into_response();
    if let Ok(value) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// The one part named `file`: its (cleaned) file name and its bytes, read up to the limit.
async fn read_file_part(multipart: &mut Multipart) -> Result<(String, Vec<u8>)> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge { limit: ATTACHMENT_MAX }
        } else {
            Error::BadRequest(format!("could not read the upload: {}", e.body_text()))
        }
    };
    let mut found = None;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        if field.name() != Some("file") {
            return Err(Error::field(
                field.name().unwrap_or("part").to_owned(),
                "unknown_field",
                "send one part named file",
            ));
        }
        if found.is_some() {
            return Err(Error::field("file", "one_file", "upload one file at a time"));
        }
        let file_name = clean_file_name(field.file_name().unwrap_or(""));
        let mut content = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            if content.len() + chunk.len() > ATTACHMENT_MAX {
                return Err(Error::PayloadTooLarge { limit: ATTACHMENT_MAX });
            }
            content.extend_from_slice(&chunk);
        }
        found = Some((file_name, content));
    }
    found.ok_or_else(|| Error::field("file", "required", "send the file in a part named file"))
}

/// A file name as stored and shown: its last path segment, without control characters, at
/// most 200 characters; `attachment` when nothing is left.
fn clean_file_name(given: &str) -> String {
    let last = given.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !crate::domain::text::is_bidi_control(*c) && *c != '"')
        .take(200)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "attachment".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// Downloads an attachment (the plan's organization and admins), as the kind its content is.
#[utoipa::path(
    get,
    path = "/programs/{id}/plans/{plan_id}/attachments/{attachment_id}",
    tag = "plans",
    params(("id" = i64, Path), ("plan_id" = i64, Path), ("attachment_id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = OK, description = "The file, as the kind its content is", content(
            (Vec<u8> = "application/pdf"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        )),
        ReadErrors
    )
)]
async fn download_attachment(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids3(program_id, plan_id, attachment_id): Ids3,
) -> Result<Response> {
    let conn = state.db.reader();
    let plan = store::get(conn, program_id, plan_id).await?;
    require_plan_access(&actor, plan.organization_id)?;
    let file = store::attachment(conn, plan.id, attachment_id).await?;
    let ascii = format!("plan-{}-{}.{}", plan.id, file.id, file.kind.extension());
    let disposition = HeaderValue::from_str(&download::disposition(&ascii, &file.file_name))
        .map_err(|e| Error::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(file.kind.media_type())),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        file.content,
    )
        .into_response())
}

/// An organization expected to submit that has not.
#[derive(Debug, Serialize, ToSchema)]
pub struct MissingOut {
    organization_id: i64,
    name: String,
    kind: OrganizationKind,
    /// Whom to call.
    contact_name: Option<String>,
    contact_office_phone: Option<String>,
    contact_mobile: Option<String>,
    /// Its extension, when one was granted.
    extended_until: Option<DateTime<FixedOffset>>,
}

/// Who has not submitted.
#[derive(Debug, Serialize, ToSchema)]
pub struct MissingListOut {
    /// The deadline in the program's zone.
    deadline: Option<DateTime<FixedOffset>>,
    /// How many organizations are expected to submit (county associations and flagged ones).
    expected: usize,
    /// How many of them have.
    submitted: usize,
    data: Vec<MissingOut>,
}

/// The organizations expected to submit (county associations below the host and those
/// flagged `plan_expected`) that have not yet, with their contacts (admins).
#[utoipa::path(
    get,
    path = "/programs/{id}/plans/missing",
    tag = "plans",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = MissingListOut), ReadErrors)
)]
async fn missing_plans(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(program_id): Id,
) -> Result<axum::Json<MissingListOut>> {
    actor.require_admin()?;
    let conn = state.db.reader();
    let program = programs::get(conn, program_id).await?;
    let zone = Zone::from_stored(&program.time_zone);
    let mut missing = store::expected(conn, &program).await?;
    let expected = missing.len();
    let submitted = store::submitters(conn, program.id).await?;
    missing.retain(|o| !submitted.contains(&o.id));
    let extensions: HashMap<i64, Extension> = store::extensions(conn, program.id)
        .await?
        .into_iter()
        .map(|e| (e.organization_id, e))
        .collect();
    Ok(axum::Json(MissingListOut {
        deadline: program.plan_deadline.map(|d| local(d, zone)),
        expected,
        submitted: expected - missing.len(),
        data: missing
            .into_iter()
            .map(|o| MissingOut {
                extended_until: extensions.get(&o.id).map(|e| local(e.until, zone)),
                organization_id: o.id,
                name: o.name,
                kind: o.kind,
                contact_name: o.contact_name,
                contact_office_phone: o.contact_office_phone,
                contact_mobile: o.contact_mobile,
            })
            .collect(),
    }))
}

/// All of a program's plans as CSV (UTF-8 with a byte-order mark, for Excel), in the form's
/// columns, for forwarding to the province (admins).
#[utoipa::path(
    get,
    path = "/programs/{id}/plans/export",
    tag = "plans",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, description = "CSV", content_type = "text/csv"), ReadErrors)
)]
async fn export_plans(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(program_id): Id,
) -> Result<Response> {
    actor.require_admin()?;
    let conn = state.db.reader();
    let program = programs::get(conn, program_id).await?;
    let zone = Zone::from_stored(&program.time_zone);
    let plans = store::all(conn, program.id).await?;
    let organization_ids: Vec<i64> = plans.iter().map(|p| p.organization_id).collect();
    let names = organizations::names(conn, &organization_ids).await?;
    let venue_ids: Vec<i64> = plans.iter().map(|p| p.venue_id).collect();
    let platforms = venues::by_ids(conn, &venue_ids).await?;
    let time = |at: DateTime<Utc>| at.with_timezone(&zone.tz()).format("%Y-%m-%d %H:%M:%S").to_string();
    let header = [
        "序号",
        "主办单位名称",
        "主题活动名称",
        "承办单位名称",
        "对接入驻平台",
        "平台类型",
        "座谈会当天与北京主场视频连线",
        "联系人",
        "办公电话",
        "手机",
        "传真",
        "电子邮箱",
        "方案",
        "版本",
        "首次提交时间",
        "最近修改时间",
        "审核状态",
        "审核意见",
    ];
    let rows = plans.into_iter().enumerate().map(|(i, p)| {
        let platform = platforms.get(&p.venue_id);
        let cell = |text: &str| download::cell(text);
        let optional = |text: &Option<String>| text.as_deref().map(download::cell).unwrap_or_default();
        vec![
            (i + 1).to_string(),
            cell(names.get(&p.organization_id).map_or("", String::as_str)),
            cell(&p.activity_name),
            cell(&p.organizing_unit),
            platform.map(|v| cell(&v.name)).unwrap_or_default(),
            platform.map(|v| platform_kind(v.kind).to_owned()).unwrap_or_default(),
            if p.joins_video_link { "是" } else { "否" }.to_owned(),
            cell(&p.contact_name),
            optional(&p.contact_office_phone),
            p.contact_mobile.clone(),
            optional(&p.contact_fax),
            optional(&p.contact_email),
            cell(&p.text),
            p.revision.to_string(),
            time(p.submitted_at),
            time(p.revised_at),
            review_text(p.review).to_owned(),
            optional(&p.review_comment),
        ]
    });
    download::csv_file(&format!("plans-program-{}.csv", program.id), &header, rows)
}

fn platform_kind(kind: VenueKind) -> &'static str {
    match kind {
        VenueKind::PartyMassesServiceCenter => "党群服务中心",
        VenueKind::CivilizationPracticeCenter => "新时代文明实践中心",
        _ => "其他",
    }
}

fn review_text(review: PlanReview) -> &'static str {
    match review {
        PlanReview::Submitted => "已提交",
        PlanReview::Shortlisted => "入围",
        PlanReview::Forwarded => "已报送省科协",
        PlanReview::Selected => "入选",
        PlanReview::NotSelected => "未入选",
    }
}

/// An extension granted past the deadline.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionOut {
    organization_id: i64,
    /// In the program's zone.
    until: DateTime<FixedOffset>,
    reason: Option<String>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ExtensionOut {
    fn new(model: Extension, zone: Zone) -> Self {
        Self {
            organization_id: model.organization_id,
            until: local(model.until, zone),
            reason: model.reason,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// An extension as an admin grants it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionIn {
    /// Until when, e.g. `2019-05-20T17:00:00` (in the program's zone) or with an offset.
    until: String,
    /// Why, for the record.
    reason: Option<String>,
}

/// The extensions granted for a program's plans (admins).
#[utoipa::path(
    get,
    path = "/programs/{id}/plan-extensions",
    tag = "plans",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = Vec<ExtensionOut>), ReadErrors)
)]
async fn list_extensions(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(program_id): Id,
) -> Result<axum::Json<Vec<ExtensionOut>>> {
    actor.require_admin()?;
    let conn = state.db.reader();
    let program = programs::get(conn, program_id).await?;
    let zone = Zone::from_stored(&program.time_zone);
    let extensions = store::extensions(conn, program.id).await?;
    Ok(axum::Json(
        extensions.into_iter().map(|e| ExtensionOut::new(e, zone)).collect(),
    ))
}

/// Grants an organization time past the deadline, or changes the time granted (admins).
#[utoipa::path(
    put,
    path = "/programs/{id}/plan-extensions/{organization_id}",
    tag = "plans",
    params(("id" = i64, Path), ("organization_id" = i64, Path)),
    request_body = ExtensionIn,
    security(("bearer" = [])),
    responses(
        (status = OK, body = ExtensionOut, description = "Changed"),
        (status = CREATED, body = ExtensionOut, description = "Granted"),
        UpdateErrors
    )
)]
async fn grant_extension(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(program_id, organization_id): Ids,
    Json(input): Json<ExtensionIn>,
) -> Result<Response> {
    actor.require_admin()?;
    let txn = state.db.begin().await?;
    let program = programs::get_for_update(&txn, program_id).await?;
    let zone = Zone::from_stored(&program.time_zone);
    validate! {
        until = one(TimeInput::parse("until", &input.until).and_then(|t| t.resolve("until", zone))),
        reason = one(text::optional("reason", input.reason.as_deref(), REASON_MAX)),
    }
    let Some(deadline) = program.plan_deadline else {
        return Err(Error::conflict(
            "no_deadline",
            "the program has no plan deadline to extend",
        ));
    };
    if until <= deadline {
        return Err(Error::field(
            "until",
            "not_after_deadline",
            format!(
                "an extension ends after the deadline ({})",
                instant_text(deadline, zone, true)
            ),
        ));
    }
    let organization = organizations::get(&txn, organization_id).await?;
    if !store::belongs_to_program(&txn, &program, &organization).await? {
        return Err(Error::NotFound("organization"));
    }
    let (model, granted) = store::grant(&txn, program.id, organization.id, until, reason, state.clock.now()).await?;
    txn.commit().await?;
    let status = if granted { StatusCode::CREATED } else { StatusCode::OK };
    let mut response = with_etag(model.version, ExtensionOut::new(model, zone));
    *response.status_mut() = status;
    Ok(response)
}

/// Takes an organization's extension back (admins).
#[utoipa::path(
    delete,
    path = "/programs/{id}/plan-extensions/{organization_id}",
    tag = "plans",
    params(("id" = i64, Path), ("organization_id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Revoked"), DeleteErrors, ActionErrors)
)]
async fn revoke_extension(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(program_id, organization_id): Ids,
) -> Result<StatusCode> {
    actor.require_admin()?;
    let txn = state.db.begin().await?;
    let program = programs::get(&txn, program_id).await?;
    store::revoke(&txn, program.id, organization_id).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_their_last_segment_and_lose_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\科协\\筹备工作方案.pdf"), "筹备工作方案.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("方案\r\n\".docx"), "方案.docx");
        assert_eq!(clean_file_name("方案\u{202E}xcod.exe"), "方案xcod.exe");
        assert_eq!(clean_file_name(".."), "attachment");
        assert_eq!(clean_file_name(""), "attachment");
        assert_eq!(clean_file_name(&"长".repeat(300)).chars().count(), 200);
    }
}
