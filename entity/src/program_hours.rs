//! `program_hours`: how long each volunteer is already assigned in each program, kept with
//! every assignment write so candidates can be ranked by it inside the database.

use sea_orm::entity::prelude::*;

/// The planned length of a volunteer's active assignments in a program's live sessions, in
/// seconds. A volunteer without a row (or with zero) has no hours there.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "program_hours")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub program_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub volunteer_id: i64,
    pub assigned_seconds: i64,
    #[sea_orm(belongs_to, from = "program_id", to = "id")]
    pub program: BelongsTo<super::program::Entity>,
    #[sea_orm(belongs_to, from = "volunteer_id", to = "id")]
    pub volunteer: BelongsTo<super::volunteer::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
