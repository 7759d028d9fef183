//! `webhooks.recent_sends` and `webhooks.flag`: the instants of a robot's latest messages, so
//! every instance keeps within the platform's rate limit, and the latest permanent error a
//! receiver gave, so organizers see why a subscription needs attention.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261130_000015_create_webhooks::Webhooks;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Webhooks::Table)
                    .add_column(json_null(Sending::RecentSends))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Webhooks::Table)
                    .add_column(text_null(Sending::Flag))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Sending::Flag, Sending::RecentSends] {
            manager
                .alter_table(Table::alter().table(Webhooks::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Sending {
    RecentSends,
    Flag,
}
