//! `deliveries`: the outbox, one row per message for one subscription.

use sea_orm::entity::prelude::*;

use crate::kinds::DeliveryStatus;

/// One message to send. Reminders are rendered from the session as it is when they go out;
/// change notices keep what changed in `payload`. A claimed row carries its lease.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub webhook_id: i64,
    pub event_type: String,
    pub session_id: Option<i64>,
    pub assignment_id: Option<i64>,
    /// Unique per subscription: a second copy of a message cannot be enqueued.
    pub dedupe_key: String,
    pub payload: Option<Json>,
    pub due_at: DateTimeUtc,
    /// Past this (a reminder's session start) it is never sent.
    pub deadline: Option<DateTimeUtc>,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    pub leased_by: Option<String>,
    pub delivered_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    /// An attempt whose outcome is unknown was made (it timed out, or its dispatcher died
    /// mid-send): past its deadline it is `in_doubt`, not `expired`.
    pub maybe_sent: bool,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "webhook_id", to = "id")]
    pub webhook: BelongsTo<super::webhook::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
