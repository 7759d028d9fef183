//! `volunteers`: the science and technology workers who staff sessions.

use sea_orm::entity::prelude::*;

/// One volunteer. `tags` is a JSON array of short labels (医院院长, 科学普及, …).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "volunteers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub key: String,
    pub name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub organization_id: i64,
    pub tags: Json,
    /// The secret part of the volunteer's personal calendar URL.
    #[sea_orm(unique)]
    pub feed_token: Option<String>,
    /// The secret part of the volunteer's personal page address.
    #[sea_orm(unique)]
    pub page_token: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "organization_id", to = "id")]
    pub organization: BelongsTo<super::organization::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
