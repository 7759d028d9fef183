//! `deliveries`: the outbox. Each row is one message for one subscription, written in the
//! transaction of the change that causes it; `(webhook_id, dedupe_key)` makes a second copy
//! impossible to enqueue.

use sea_orm_migration::{prelude::*, schema::*};

use crate::indexes::create_indexes;
use crate::m20261129_000005_create_sessions::Sessions;
use crate::m20261130_000015_create_webhooks::Webhooks;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .col(big_pk_auto(Deliveries::Id))
                    .col(big_integer(Deliveries::WebhookId))
                    .col(string_len(Deliveries::EventType, 32))
                    .col(big_integer_null(Deliveries::SessionId))
                    .col(big_integer_null(Deliveries::AssignmentId))
                    .col(string_len(Deliveries::DedupeKey, 200))
                    .col(json_null(Deliveries::Payload))
                    .col(timestamp_with_time_zone(Deliveries::DueAt))
                    .col(timestamp_with_time_zone_null(Deliveries::Deadline))
                    .col(string_len(Deliveries::Status, 16))
                    .col(integer(Deliveries::Attempts))
                    .col(timestamp_with_time_zone(Deliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(Deliveries::LeaseUntil))
                    .col(string_len_null(Deliveries::LeasedBy, 64))
                    .col(timestamp_with_time_zone_null(Deliveries::DeliveredAt))
                    .col(string_len_null(Deliveries::LastError, 500))
                    .col(timestamp_with_time_zone(Deliveries::CreatedAt))
                    .col(timestamp_with_time_zone(Deliveries::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Deliveries::Table, Deliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Deliveries::Table, Deliveries::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // The dispatcher claims by status and time; a move re-times a session's pending rows;
        // the delivery log lists a subscription's rows newest first.
        create_indexes(
            manager,
            Deliveries::Table,
            vec![
                (
                    "idx_deliveries_webhook_dedupe",
                    vec![Deliveries::WebhookId, Deliveries::DedupeKey],
                    true,
                ),
                (
                    "idx_deliveries_status_next",
                    vec![Deliveries::Status, Deliveries::NextAttemptAt],
                    false,
                ),
                (
                    "idx_deliveries_session_status",
                    vec![Deliveries::SessionId, Deliveries::Status],
                    false,
                ),
                (
                    "idx_deliveries_webhook_id",
                    vec![Deliveries::WebhookId, Deliveries::Id],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Deliveries::Table).to_owned())
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
pub enum Deliveries {
    Table,
    Id,
    WebhookId,
    EventType,
    SessionId,
    AssignmentId,
    DedupeKey,
    Payload,
    DueAt,
    Deadline,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LeasedBy,
    DeliveredAt,
    LastError,
    CreatedAt,
    UpdatedAt,
}
