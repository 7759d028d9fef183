//! `plans`: an organization's preparation plan (附件1 筹备工作方案) for a program, as last
//! submitted, with where its review stands. Every submitted version is in `plan_revisions`.

use sea_orm::entity::prelude::*;

use crate::kinds::PlanReview;

/// One plan. The form's fields are the latest revision's; `revision` counts the versions.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub program_id: i64,
    /// The host unit (主办单位): the submitting organization.
    pub organization_id: i64,
    pub activity_name: String,
    pub organizing_unit: String,
    /// The platform it works with (对接入驻平台).
    pub venue_id: i64,
    pub joins_video_link: bool,
    pub contact_name: String,
    pub contact_office_phone: Option<String>,
    pub contact_mobile: String,
    pub contact_fax: Option<String>,
    pub contact_email: Option<String>,
    pub text: String,
    pub revision: i32,
    pub review: PlanReview,
    pub review_comment: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    /// The flag-ceremony session created for it on approval.
    pub session_id: Option<i64>,
    /// When the first version came in.
    pub submitted_at: DateTimeUtc,
    /// When the latest version came in.
    pub revised_at: DateTimeUtc,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "program_id", to = "id")]
    pub program: BelongsTo<super::program::Entity>,
    #[sea_orm(belongs_to, from = "organization_id", to = "id")]
    pub organization: BelongsTo<super::organization::Entity>,
    #[sea_orm(belongs_to, from = "venue_id", to = "id")]
    pub venue: BelongsTo<super::venue::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
