//! `delivery_attempts`: every try of a delivery, with what the receiver answered, for the
//! delivery log.

use sea_orm_migration::{prelude::*, schema::*};

use crate::indexes::create_indexes;
use crate::m20261130_000015_create_webhooks::Webhooks;
use crate::m20261130_000016_create_deliveries::Deliveries;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeliveryAttempts::Table)
                    .col(big_pk_auto(DeliveryAttempts::Id))
                    .col(big_integer(DeliveryAttempts::DeliveryId))
                    .col(big_integer(DeliveryAttempts::WebhookId))
                    .col(timestamp_with_time_zone(DeliveryAttempts::AttemptedAt))
                    .col(integer(DeliveryAttempts::DurationMs))
                    .col(integer_null(DeliveryAttempts::HttpStatus))
                    .col(big_integer_null(DeliveryAttempts::ErrorCode))
                    .col(string_len_null(DeliveryAttempts::ErrorMessage, 500))
                    .col(string_len_null(DeliveryAttempts::ResponseBody, 1100))
                    .col(string_len(DeliveryAttempts::Outcome, 16))
                    .col(timestamp_with_time_zone_null(DeliveryAttempts::NextAttemptAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DeliveryAttempts::Table, DeliveryAttempts::DeliveryId)
                            .to(Deliveries::Table, Deliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DeliveryAttempts::Table, DeliveryAttempts::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            DeliveryAttempts::Table,
            vec![
                (
                    "idx_delivery_attempts_delivery",
                    vec![DeliveryAttempts::DeliveryId, DeliveryAttempts::Id],
                    false,
                ),
                (
                    "idx_delivery_attempts_webhook",
                    vec![DeliveryAttempts::WebhookId, DeliveryAttempts::Id],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeliveryAttempts::Table).to_owned())
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
pub enum DeliveryAttempts {
    Table,
    Id,
    DeliveryId,
    WebhookId,
    AttemptedAt,
    DurationMs,
    HttpStatus,
    ErrorCode,
    ErrorMessage,
    ResponseBody,
    Outcome,
    NextAttemptAt,
}
