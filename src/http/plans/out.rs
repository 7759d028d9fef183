//! A plan as the API shows it: its form, review, attachments and until when it may change.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use entity::kinds::{AttachmentKind, PlanReview};
use entity::plan::Model as Plan;
use entity::program::Model as Program;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use utoipa::ToSchema;

use super::local;
use crate::domain::zone::Zone;
use crate::error::Result;
use crate::store::organizations;
use crate::store::plans::{self as store, AttachmentInfo, PlanContact, PlanFields};

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
    pub(super) url: String,
}

impl AttachmentOut {
    /// An upload of a plan, `current` when no later upload of its kind replaced it.
    pub(super) fn new(program_id: i64, plan_id: i64, info: &AttachmentInfo, current: bool) -> Self {
        Self {
            id: info.id,
            kind: info.kind,
            file_name: info.file_name.clone(),
            size: info.size,
            sha256: info.sha256.clone(),
            uploaded_at: info.created_at,
            current,
            url: format!("/api/v1/programs/{program_id}/plans/{plan_id}/attachments/{}", info.id),
        }
    }
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
pub(super) struct Context<'a> {
    program: &'a Program,
    organization_names: HashMap<i64, String>,
    extensions: HashMap<i64, DateTime<Utc>>,
    attachments: HashMap<i64, Vec<AttachmentInfo>>,
}

impl<'a> Context<'a> {
    pub(super) async fn read(conn: &impl ConnectionTrait, program: &'a Program, plans: &[Plan]) -> Result<Self> {
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

    pub(super) fn out(&mut self, plan: Plan) -> PlanOut {
        let zone = Zone::from_stored(&self.program.time_zone);
        let open_until = self.program.plan_deadline.map(|deadline| {
            let extended = self.extensions.get(&plan.organization_id).copied();
            local(extended.map_or(deadline, |e| e.max(deadline)), zone)
        });
        let uploads = self.attachments.remove(&plan.id).unwrap_or_default();
        let attachments = uploads
            .iter()
            .map(|a| {
                let current = !uploads.iter().any(|b| b.kind == a.kind && b.id > a.id);
                AttachmentOut::new(plan.program_id, plan.id, a, current)
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

pub(super) async fn plan_out(conn: &impl ConnectionTrait, program: &Program, plan: Plan) -> Result<PlanOut> {
    let mut context = Context::read(conn, program, std::slice::from_ref(&plan)).await?;
    Ok(context.out(plan))
}
