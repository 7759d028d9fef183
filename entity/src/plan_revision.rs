//! `plan_revisions`: every version of a plan as it was submitted.

use sea_orm::entity::prelude::*;

/// One submitted version; `content` holds the form's fields as they were.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_revisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub revision: i32,
    pub content: Json,
    pub submitted_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "plan_id", to = "id")]
    pub plan: BelongsTo<super::plan::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
