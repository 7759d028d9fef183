//! `plan_extensions`: time an admin granted one organization past a program's plan deadline.

use sea_orm::entity::prelude::*;

/// One extension: the organization may submit and revise until `until`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_extensions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub program_id: i64,
    pub organization_id: i64,
    pub until: DateTimeUtc,
    pub reason: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "program_id", to = "id")]
    pub program: BelongsTo<super::program::Entity>,
    #[sea_orm(belongs_to, from = "organization_id", to = "id")]
    pub organization: BelongsTo<super::organization::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
