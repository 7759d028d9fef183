//! The claim order as an index: due deliveries by time and then id. A wave of reminders falls
//! due at one instant; with the time alone indexed, each claim sorted the whole wave by id to
//! take its first few hundred.

use sea_orm_migration::prelude::*;

use crate::indexes::create_indexes;
use crate::m20261130_000016_create_deliveries::Deliveries;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_deliveries_status_next_id";
const REPLACED: &str = "idx_deliveries_status_next";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_indexes(
            manager,
            Deliveries::Table,
            vec![(
                NAME,
                vec![Deliveries::Status, Deliveries::NextAttemptAt, Deliveries::Id],
                false,
            )],
        )
        .await?;
        manager
            .drop_index(Index::drop().name(REPLACED).table(Deliveries::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_indexes(
            manager,
            Deliveries::Table,
            vec![(REPLACED, vec![Deliveries::Status, Deliveries::NextAttemptAt], false)],
        )
        .await?;
        manager
            .drop_index(Index::drop().name(NAME).table(Deliveries::Table).to_owned())
            .await
    }
}
