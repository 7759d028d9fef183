//! `plan_attachments`: the stamped PDF and the Word file of a plan, as uploaded.

use sea_orm::entity::prelude::*;

use crate::kinds::AttachmentKind;

/// One uploaded file. Uploads are kept; the latest of each kind is the plan's current one.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_attachments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub kind: AttachmentKind,
    pub file_name: String,
    pub size: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub content: Vec<u8>,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "plan_id", to = "id")]
    pub plan: BelongsTo<super::plan::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
