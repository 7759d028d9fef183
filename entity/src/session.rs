//! `sessions`: one occurrence of an activity at a venue.

use sea_orm::entity::prelude::*;

use crate::kinds::SessionStatus;

/// One session. `starts_at`/`ends_at` are UTC instants and always set (for an all-day
/// session they are the local midnights that bound its days), so every time query uses the
/// same two indexed columns; `time_zone`, `start_date` and `end_date` say how to show them.
/// `program_id` repeats the activity's program so program-wide queries need no join.
/// A deleted session keeps its row (`deleted_at`) so calendar subscribers can still be told.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub key: String,
    pub program_id: i64,
    pub activity_id: i64,
    pub venue_id: i64,
    pub title: Option<String>,
    pub description: Option<String>,
    pub time_zone: String,
    pub all_day: bool,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub start_date: Option<Date>,
    /// Last day of an all-day session, inclusive.
    pub end_date: Option<Date>,
    pub status: SessionStatus,
    pub capacity: Option<i32>,
    pub video_url: Option<String>,
    pub linked_session_id: Option<i64>,
    /// Invented for sample data rather than taken from a published source.
    pub illustrative: bool,
    pub version: i32,
    /// The iCalendar SEQUENCE: raised when time, place or status change.
    pub sequence: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "program_id", to = "id")]
    pub program: BelongsTo<super::program::Entity>,
    #[sea_orm(belongs_to, from = "activity_id", to = "id")]
    pub activity: BelongsTo<super::activity::Entity>,
    #[sea_orm(belongs_to, from = "venue_id", to = "id")]
    pub venue: BelongsTo<super::venue::Entity>,
    #[sea_orm(self_ref, relation_enum = "Linked", from = "linked_session_id", to = "id")]
    pub linked_session: BelongsTo<Option<Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
