//! Queries on preparation plans: the plan with its revisions, the attachments uploaded with it,
//! the extensions granted past the deadline, and who is expected to submit one.

use chrono::{DateTime, Utc};
use entity::kinds::{AttachmentKind, OrganizationKind, PlanReview};
use entity::organization::{Column as OrgColumn, Entity as Organization, Model as OrganizationModel};
use entity::plan::{ActiveModel, Column, Entity, Model};
use entity::plan_attachment::{self, Entity as Attachment};
use entity::plan_extension::{self, Entity as Extension};
use entity::plan_revision::{self, Entity as Revision};
use entity::program::Model as Program;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{Cursor, Page, PageRequest, found};
use crate::domain::contact::Contact;
use crate::error::{Error, Result};

/// The form's fields (附件1), validated: what each revision records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFields {
    /// 主题活动名称.
    pub activity_name: String,
    /// 承办单位名称.
    pub organizing_unit: String,
    /// 对接入驻平台: a venue of a kind plans may name.
    pub venue_id: i64,
    /// 座谈会当天与北京主场视频连线.
    pub joins_video_link: bool,
    /// 联系人; name and mobile are present.
    pub contact: PlanContact,
    /// The plan itself.
    pub text: String,
}

/// A plan's contact: the name and mobile the association calls, and the rest as given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanContact {
    /// 姓名.
    pub name: String,
    /// 办公电话.
    pub office_phone: Option<String>,
    /// 手机.
    pub mobile: String,
    /// 传真.
    pub fax: Option<String>,
    /// 电子邮箱.
    pub email: Option<String>,
}

impl PlanContact {
    /// The contact when it has the name and mobile a plan needs.
    pub fn from_contact(contact: Contact) -> Option<Self> {
        Some(Self {
            name: contact.name?,
            mobile: contact.mobile?,
            office_phone: contact.office_phone,
            fax: contact.fax,
            email: contact.email,
        })
    }
}

impl PlanFields {
    /// The fields a stored plan holds now.
    pub fn of(model: &Model) -> Self {
        Self {
            activity_name: model.activity_name.clone(),
            organizing_unit: model.organizing_unit.clone(),
            venue_id: model.venue_id,
            joins_video_link: model.joins_video_link,
            contact: PlanContact {
                name: model.contact_name.clone(),
                office_phone: model.contact_office_phone.clone(),
                mobile: model.contact_mobile.clone(),
                fax: model.contact_fax.clone(),
                email: model.contact_email.clone(),
            },
            text: model.text.clone(),
        }
    }

    fn write_to(self, row: &mut ActiveModel) {
        row.activity_name = Set(self.activity_name);
        row.organizing_unit = Set(self.organizing_unit);
        row.venue_id = Set(self.venue_id);
        row.joins_video_link = Set(self.joins_video_link);
        row.contact_name = Set(self.contact.name);
        row.contact_office_phone = Set(self.contact.office_phone);
        row.contact_mobile = Set(self.contact.mobile);
        row.contact_fax = Set(self.contact.fax);
        row.contact_email = Set(self.contact.email);
        row.text = Set(self.text);
    }
}

/// Filters of a program's plan list.
#[derive(Clone, Debug, Default)]
pub struct PlanFilter {
    /// Of this organization.
    pub organization_id: Option<i64>,
    /// At this step of the review.
    pub review: Option<PlanReview>,
    /// By activity name and last change.
    pub search: super::Search,
}

/// A program's plan by id; a plan of another program is not found.
pub async fn get(conn: &impl ConnectionTrait, program_id: i64, id: i64) -> Result<Model> {
    let row = Entity::find_by_id(id)
        .filter(Column::ProgramId.eq(program_id))
        .one(conn)
        .await?;
    found(row, "plan")
}

/// A program's plan by id, locked until the transaction ends (PostgreSQL).
pub async fn get_for_update(txn: &DatabaseTransaction, program_id: i64, id: i64) -> Result<Model> {
    let row = Entity::find_by_id(id)
        .filter(Column::ProgramId.eq(program_id))
        .lock_exclusive()
        .one(txn)
        .await?;
    found(row, "plan")
}

/// The plan an organization submitted for a program, if any.
pub async fn of_organization(
    conn: &impl ConnectionTrait,
    program_id: i64,
    organization_id: i64,
) -> Result<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::ProgramId.eq(program_id))
        .filter(Column::OrganizationId.eq(organization_id))
        .one(conn)
        .await?)
}

/// A page of a program's plans in id order.
pub async fn list(
    conn: &impl ConnectionTrait,
    program_id: i64,
    filter: &PlanFilter,
    page: &PageRequest,
) -> Result<Page<Model>> {
    let query = Entity::find()
        .filter(Column::ProgramId.eq(program_id))
        .order_by_asc(Column::Id)
        .limit(page.limit + 1);
    let mut query = filter.search.apply(query, &[Column::ActivityName], Column::UpdatedAt);
    if let Some(organization) = filter.organization_id {
        query = query.filter(Column::OrganizationId.eq(organization));
    }
    if let Some(review) = filter.review {
        query = query.filter(Column::Review.eq(review));
    }
    if let Some(Cursor::Id(after)) = page.after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// Every plan of a program, in id order (the export).
pub async fn all(conn: &impl ConnectionTrait, program_id: i64) -> Result<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::ProgramId.eq(program_id))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

async fn record_revision(txn: &DatabaseTransaction, plan: &Model, fields: &PlanFields) -> Result<()> {
    let content = serde_json::to_value(fields).map_err(|e| Error::Internal(e.into()))?;
    plan_revision::ActiveModel {
        plan_id: Set(plan.id),
        revision: Set(plan.revision),
        content: Set(content),
        submitted_at: Set(plan.revised_at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Records an organization's first plan for a program, and it as revision 1. A second plan of
/// the same organization is a 409 that points at the first.
pub async fn submit(
    txn: &DatabaseTransaction,
    program_id: i64,
    organization_id: i64,
    fields: PlanFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    if let Some(existing) = of_organization(txn, program_id, organization_id).await? {
        return Err(Error::conflict(
            "already_submitted",
            format!(
                "the organization already submitted plan {}; revise it with PUT /api/v1/programs/{program_id}/plans/{}",
                existing.id, existing.id
            ),
        ));
    }
    let mut row = ActiveModel {
        program_id: Set(program_id),
        organization_id: Set(organization_id),
        revision: Set(1),
        review: Set(PlanReview::Submitted),
        review_comment: Set(None),
        reviewed_at: Set(None),
        session_id: Set(None),
        submitted_at: Set(now),
        revised_at: Set(now),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    fields.clone().write_to(&mut row);
    let plan = row.insert(txn).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::conflict(
            "already_submitted",
            "the organization submitted a plan for this program at the same moment",
        ),
        _ => e.into(),
    })?;
    record_revision(txn, &plan, &fields).await?;
    Ok(plan)
}

/// A new version of a plan, kept beside the earlier ones. The same fields again change
/// nothing (and add no revision); `None` says so.
pub async fn revise(
    txn: &DatabaseTransaction,
    current: Model,
    fields: PlanFields,
    now: DateTime<Utc>,
) -> Result<Option<Model>> {
    if PlanFields::of(&current) == fields {
        return Ok(None);
    }
    let (revision, version) = (current.revision + 1, current.version + 1);
    let mut row = current.into_active_model();
    fields.clone().write_to(&mut row);
    row.revision = Set(revision);
    row.revised_at = Set(now);
    row.version = Set(version);
    row.updated_at = Set(now);
    let plan = row.update(txn).await?;
    record_revision(txn, &plan, &fields).await?;
    Ok(Some(plan))
}

/// Every version of a plan, oldest first.
pub async fn revisions(conn: &impl ConnectionTrait, plan_id: i64) -> Result<Vec<plan_revision::Model>> {
    Ok(Revision::find()
        .filter(plan_revision::Column::PlanId.eq(plan_id))
        .order_by_asc(plan_revision::Column::Revision)
        .all(conn)
        .await?)
}

/// Moves a plan's review on, with the reviewer's comment and, on approval, the flag-ceremony
/// session made for it.
pub async fn review(
    txn: &DatabaseTransaction,
    current: Model,
    to: PlanReview,
    comment: Option<String>,
    session_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Model> {
    let version = current.version + 1;
    let session = current.session_id.or(session_id);
    let mut row = current.into_active_model();
    row.review = Set(to);
    row.review_comment = Set(comment);
    row.reviewed_at = Set(Some(now));
    row.session_id = Set(session);
    row.version = Set(version);
    row.updated_at = Set(now);
    Ok(row.update(txn).await?)
}

/// What is listed of an attachment (everything but its bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// Id.
    pub id: i64,
    /// PDF or Word.
    pub kind: AttachmentKind,
    /// The name it was uploaded under.
    pub file_name: String,
    /// Bytes.
    pub size: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
}

type InfoRow = (i64, AttachmentKind, String, i64, String, DateTime<Utc>);

fn info((id, kind, file_name, size, sha256, created_at): InfoRow) -> AttachmentInfo {
    AttachmentInfo {
        id,
        kind,
        file_name,
        size,
        sha256,
        created_at,
    }
}

fn info_columns() -> sea_orm::Select<Attachment> {
    use plan_attachment::Column as A;
    Attachment::find()
        .select_only()
        .columns([A::Id, A::Kind, A::FileName, A::Size, A::Sha256, A::CreatedAt])
}

/// Stores an uploaded file whose kind its content showed.
/// A new attachment row: the file, its size and its SHA-256 (in hex).
pub fn attachment_row(
    plan_id: i64,
    kind: AttachmentKind,
    file_name: String,
    content: Vec<u8>,
    created_at: DateTime<Utc>,
) -> plan_attachment::ActiveModel {
    let sha256: String = Sha256::digest(&content).iter().map(|b| format!("{b:02x}")).collect();
    plan_attachment::ActiveModel {
        plan_id: Set(plan_id),
        kind: Set(kind),
        file_name: Set(file_name),
        size: Set(i64::try_from(content.len()).unwrap_or(i64::MAX)),
        sha256: Set(sha256),
        content: Set(content),
        created_at: Set(created_at),
        ..Default::default()
    }
}

pub async fn attach(
    txn: &DatabaseTransaction,
    plan_id: i64,
    kind: AttachmentKind,
    file_name: String,
    content: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<plan_attachment::Model> {
    Ok(attachment_row(plan_id, kind, file_name, content, now)
        .insert(txn)
        .await?)
}

impl AttachmentInfo {
    /// What lists show of an attachment.
    pub fn of(row: &plan_attachment::Model) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            file_name: row.file_name.clone(),
            size: row.size,
            sha256: row.sha256.clone(),
            created_at: row.created_at,
        }
    }
}

/// The attachments of plans, each with its plan's id, oldest first, without their bytes.
pub async fn attachments(conn: &impl ConnectionTrait, plan_ids: &[i64]) -> Result<Vec<(i64, AttachmentInfo)>> {
    use plan_attachment::Column as A;
    let rows = info_columns()
        .column(A::PlanId)
        .filter(A::PlanId.is_in(plan_ids.iter().copied()))
        .order_by_asc(A::Id)
        .into_tuple::<(i64, AttachmentKind, String, i64, String, DateTime<Utc>, i64)>()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, file_name, size, sha256, created_at, plan)| {
            (plan, info((id, kind, file_name, size, sha256, created_at)))
        })
        .collect())
}

/// How many files were uploaded for a plan.
pub async fn attachment_count(conn: &impl ConnectionTrait, plan_id: i64) -> Result<u64> {
    use sea_orm::PaginatorTrait as _;
    Ok(Attachment::find()
        .filter(plan_attachment::Column::PlanId.eq(plan_id))
        .count(conn)
        .await?)
}

/// One attachment of a plan, with its bytes.
pub async fn attachment(conn: &impl ConnectionTrait, plan_id: i64, id: i64) -> Result<plan_attachment::Model> {
    let row = Attachment::find_by_id(id)
        .filter(plan_attachment::Column::PlanId.eq(plan_id))
        .one(conn)
        .await?;
    found(row, "attachment")
}

/// The extension granted to an organization for a program's plan, if any.
pub async fn extension(
    conn: &impl ConnectionTrait,
    program_id: i64,
    organization_id: i64,
) -> Result<Option<plan_extension::Model>> {
    Ok(Extension::find()
        .filter(plan_extension::Column::ProgramId.eq(program_id))
        .filter(plan_extension::Column::OrganizationId.eq(organization_id))
        .one(conn)
        .await?)
}

/// Every extension of a program, by organization.
pub async fn extensions(conn: &impl ConnectionTrait, program_id: i64) -> Result<Vec<plan_extension::Model>> {
    extensions_of(conn, program_id, None).await
}

/// The extensions of a program, of these organizations only when given.
pub async fn extensions_of(
    conn: &impl ConnectionTrait,
    program_id: i64,
    organizations: Option<&[i64]>,
) -> Result<Vec<plan_extension::Model>> {
    let mut query = Extension::find()
        .filter(plan_extension::Column::ProgramId.eq(program_id))
        .order_by_asc(plan_extension::Column::OrganizationId);
    if let Some(organizations) = organizations {
        query = query.filter(plan_extension::Column::OrganizationId.is_in(organizations.iter().copied()));
    }
    Ok(query.all(conn).await?)
}

/// Grants (or changes) an organization's extension; says whether it is new.
pub async fn grant(
    txn: &DatabaseTransaction,
    program_id: i64,
    organization_id: i64,
    until: DateTime<Utc>,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<(plan_extension::Model, bool)> {
    match extension(txn, program_id, organization_id).await? {
        Some(current) if current.until == until && current.reason == reason => Ok((current, false)),
        Some(current) => {
            let version = current.version + 1;
            let mut row = current.into_active_model();
            row.until = Set(until);
            row.reason = Set(reason);
            row.version = Set(version);
            row.updated_at = Set(now);
            Ok((row.update(txn).await?, false))
        }
        None => {
            let row = plan_extension::ActiveModel {
                program_id: Set(program_id),
                organization_id: Set(organization_id),
                until: Set(until),
                reason: Set(reason),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            };
            Ok((row.insert(txn).await?, true))
        }
    }
}

/// Takes an organization's extension back (a 404 when there is none); returns what it was.
pub async fn revoke(txn: &DatabaseTransaction, program_id: i64, organization_id: i64) -> Result<plan_extension::Model> {
    let current = extension(txn, program_id, organization_id)
        .await?
        .ok_or(Error::NotFound("extension"))?;
    Extension::delete_by_id(current.id).exec(txn).await?;
    Ok(current)
}

/// The organizations that take part in a program hosted by `host`: the county associations
/// below it and the organizations below it flagged as expected to submit a plan.
fn participants(host: &OrganizationModel) -> Condition {
    Condition::all()
        .add(OrgColumn::Path.starts_with(&host.path))
        .add(OrgColumn::Id.ne(host.id))
        .add(
            Condition::any()
                .add(OrgColumn::Kind.eq(OrganizationKind::CountyAssociation))
                .add(OrgColumn::PlanExpected.eq(true)),
        )
}

/// Who is expected to submit a plan for a program (its participants), in id order.
pub async fn expected(conn: &impl ConnectionTrait, program: &Program) -> Result<Vec<OrganizationModel>> {
    let host = super::organizations::get(conn, program.host_organization_id).await?;
    Ok(Organization::find()
        .filter(participants(&host))
        .order_by_asc(OrgColumn::Id)
        .all(conn)
        .await?)
}

/// Whether an organization takes part in a program (is expected to submit a plan for it).
pub async fn participates(conn: &impl ConnectionTrait, program: &Program, organization_id: i64) -> Result<bool> {
    let host = super::organizations::get(conn, program.host_organization_id).await?;
    Ok(Organization::find()
        .filter(participants(&host))
        .filter(OrgColumn::Id.eq(organization_id))
        .one(conn)
        .await?
        .is_some())
}

/// The organizations that submitted a plan for a program.
pub async fn submitters(conn: &impl ConnectionTrait, program_id: i64) -> Result<std::collections::HashSet<i64>> {
    Ok(Entity::find()
        .select_only()
        .column(Column::OrganizationId)
        .filter(Column::ProgramId.eq(program_id))
        .into_tuple::<i64>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}

/// The organizations expected to submit that have not, in id order.
pub async fn missing(conn: &impl ConnectionTrait, program: &Program) -> Result<Vec<OrganizationModel>> {
    let submitted = submitters(conn, program.id).await?;
    let mut expected = expected(conn, program).await?;
    expected.retain(|o| !submitted.contains(&o.id));
    Ok(expected)
}

/// Whether an organization lies within the program's host association (and so may submit).
pub async fn belongs_to_program(
    conn: &impl ConnectionTrait,
    program: &Program,
    organization: &OrganizationModel,
) -> Result<bool> {
    let host = super::organizations::get(conn, program.host_organization_id).await?;
    Ok(organization.path.starts_with(&host.path))
}
