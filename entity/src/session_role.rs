//! `session_roles`: what a session needs (讲解员 ×4 from a team, 医生 ×2 with a qualification).

use sea_orm::entity::prelude::*;

/// One role. `qualifications` is a JSON array of qualification names every volunteer must hold.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "session_roles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub key: String,
    pub session_id: i64,
    pub name: String,
    pub needed: i32,
    /// Volunteers must belong to this team or one below it.
    pub team_id: Option<i64>,
    pub qualifications: Json,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "session_id", to = "id")]
    pub session: BelongsTo<super::session::Entity>,
    #[sea_orm(belongs_to, from = "team_id", to = "id")]
    pub team: BelongsTo<Option<super::team::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
