//! `session_changes`: the history of a session's time, place and status.

use sea_orm::entity::prelude::*;

use crate::kinds::SessionStatus;

/// One change: the session before and after it. `sequence` is the session's iCalendar
/// SEQUENCE after the change.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub session_id: i64,
    pub sequence: i32,
    pub changed_at: DateTimeUtc,
    pub old_all_day: bool,
    pub old_starts_at: DateTimeUtc,
    pub old_ends_at: DateTimeUtc,
    pub old_venue_id: i64,
    pub old_status: SessionStatus,
    pub new_all_day: bool,
    pub new_starts_at: DateTimeUtc,
    pub new_ends_at: DateTimeUtc,
    pub new_venue_id: i64,
    pub new_status: SessionStatus,
    /// The change was the session's deletion.
    pub deleted: bool,
    #[sea_orm(belongs_to, from = "session_id", to = "id")]
    pub session: BelongsTo<super::session::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
