//! `programs`: one year's Workers' Day program of a host organization.

use sea_orm::entity::prelude::*;

/// One program.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "programs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub key: String,
    pub name: String,
    pub theme: Option<String>,
    pub time_zone: String,
    pub host_organization_id: i64,
    /// The instant after which preparation plans are refused.
    pub plan_deadline: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "host_organization_id", to = "id")]
    pub host_organization: BelongsTo<super::organization::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
