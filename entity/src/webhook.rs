//! `webhooks`: a subscription that sends reminders and change notices to one receiver.

use sea_orm::entity::prelude::*;

use crate::kinds::{WebhookFormat, WebhookScope};

/// One subscription. `url` may carry the robot's token and is only read to send; `url_shown`
/// is the same address with credentials hidden. `offsets` are reminder times before the start,
/// in seconds. `secret` signs messages (Standard Webhooks, DingTalk, Feishu) and is never shown
/// again after creation.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub key: String,
    /// The organization that manages it.
    pub organization_id: i64,
    pub name: Option<String>,
    pub url: String,
    pub url_shown: String,
    pub format: WebhookFormat,
    pub scope_kind: WebhookScope,
    pub scope_id: i64,
    pub events: Json,
    pub offsets: Json,
    pub secret: Option<String>,
    pub keyword: Option<String>,
    pub mention: bool,
    pub enabled: bool,
    /// Why it stopped: a permanent error from the receiver, or five days of failures.
    pub disabled_reason: Option<String>,
    /// When the current run of failed deliveries began.
    pub failing_since: Option<DateTimeUtc>,
    /// When the robot's latest messages went (chat formats): what its rate limit counts.
    pub recent_sends: Option<Json>,
    /// The latest permanent error the receiver gave; cleared by the next delivery.
    pub flag: Option<String>,
    /// Notices due to the robot are gathered until then and go out together.
    pub gathering_until: Option<DateTimeUtc>,
    /// The platform throttled the robot (DingTalk 130101): nothing goes to it before then.
    pub throttled_until: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "organization_id", to = "id")]
    pub organization: BelongsTo<super::organization::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
