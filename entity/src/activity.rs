//! `activities`: the "1" and the "N" of a program.

use sea_orm::entity::prelude::*;

use crate::kinds::ActivityKind;

/// One activity. `service_kinds` is a JSON array of short labels (科学普及, 智库咨询, …).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub key: String,
    pub program_id: i64,
    pub kind: ActivityKind,
    pub display_order: i32,
    pub title: String,
    pub description: Option<String>,
    pub organization_id: i64,
    pub service_kinds: Json,
    pub public: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "program_id", to = "id")]
    pub program: BelongsTo<super::program::Entity>,
    #[sea_orm(belongs_to, from = "organization_id", to = "id")]
    pub organization: BelongsTo<super::organization::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
