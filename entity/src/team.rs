//! `teams`: volunteer teams, a tree owned by organizations (支队 → 分队).

use sea_orm::entity::prelude::*;

/// One team. `path` is the chain of ancestor ids (`/3/7/`), as for organizations.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "teams")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub key: String,
    pub organization_id: i64,
    pub parent_id: Option<i64>,
    pub path: String,
    pub name: String,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "organization_id", to = "id")]
    pub organization: BelongsTo<super::organization::Entity>,
    #[sea_orm(self_ref, relation_enum = "Parent", from = "parent_id", to = "id")]
    pub parent: BelongsTo<Option<Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
