//! `venues`: where sessions happen.

use sea_orm::entity::prelude::*;

use crate::kinds::VenueKind;

/// One venue, with the IANA zone its local times are read in.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "venues")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub key: String,
    pub name: String,
    pub address: Option<String>,
    pub kind: VenueKind,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub time_zone: String,
    pub organization_id: Option<i64>,
    /// Invented for sample data rather than taken from a published source.
    pub illustrative: bool,
    /// The owning organization lets the other organizations of its programs schedule here.
    pub shared: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "organization_id", to = "id")]
    pub organization: BelongsTo<Option<super::organization::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
