//! `delivery_attempts`: one try of a delivery and what the receiver answered.

use sea_orm::entity::prelude::*;

use crate::kinds::AttemptOutcome;

/// One attempt. `response_body` is cut to about a kilobyte; `error_code` and `error_message`
/// are the platform's own (DingTalk `errcode`, Feishu `code`, …) when it gave them.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub attempted_at: DateTimeUtc,
    pub duration_ms: i32,
    pub http_status: Option<i32>,
    pub error_code: Option<i64>,
    pub error_message: Option<String>,
    pub response_body: Option<String>,
    pub outcome: AttemptOutcome,
    pub next_attempt_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "delivery_id", to = "id")]
    pub delivery: BelongsTo<super::delivery::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
