//! `unavailabilities`: times a volunteer cannot serve.

use sea_orm::entity::prelude::*;

/// One window, from `starts_at` until just before `ends_at`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "unavailabilities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub volunteer_id: i64,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub reason: Option<String>,
    #[sea_orm(belongs_to, from = "volunteer_id", to = "id")]
    pub volunteer: BelongsTo<super::volunteer::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
