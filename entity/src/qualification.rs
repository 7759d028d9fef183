//! `qualifications`: what a volunteer is certified for (执业医师, 教师资格, …), and when.

use sea_orm::entity::prelude::*;

/// One qualification, valid from and until the given days (inclusive) when they are set.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "qualifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub volunteer_id: i64,
    pub name: String,
    pub valid_from: Option<Date>,
    pub valid_until: Option<Date>,
    #[sea_orm(belongs_to, from = "volunteer_id", to = "id")]
    pub volunteer: BelongsTo<super::volunteer::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
