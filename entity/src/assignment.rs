//! `assignments`: a volunteer in a session role. Rows are never deleted; their status tells
//! the story.

use sea_orm::entity::prelude::*;

use crate::kinds::AssignmentStatus;

/// One assignment. `session_id` repeats the role's session so schedules need no join
/// through roles. `overridden_rules` lists the rules an admin set aside (with the reason and
/// token); `conflicts` describes clashes found after a session moved, flagged at `flagged_at`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub key: String,
    pub role_id: i64,
    pub session_id: i64,
    pub volunteer_id: i64,
    pub status: AssignmentStatus,
    /// Why it was declined or cancelled.
    pub reason: Option<String>,
    pub checked_in_at: Option<DateTimeUtc>,
    pub overridden_rules: Json,
    pub override_reason: Option<String>,
    pub overridden_by: Option<i64>,
    pub conflicts: Option<Json>,
    pub flagged_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "role_id", to = "id")]
    pub role: BelongsTo<super::session_role::Entity>,
    #[sea_orm(belongs_to, from = "session_id", to = "id")]
    pub session: BelongsTo<super::session::Entity>,
    #[sea_orm(belongs_to, from = "volunteer_id", to = "id")]
    pub volunteer: BelongsTo<super::volunteer::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
