//! An index for pruning the delivery log: settled deliveries by when they settled.

use sea_orm_migration::prelude::*;

use crate::indexes::create_indexes;
use crate::m20261130_000016_create_deliveries::Deliveries;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_deliveries_status_updated";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_indexes(
            manager,
            Deliveries::Table,
            vec![(NAME, vec![Deliveries::Status, Deliveries::UpdatedAt], false)],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(Deliveries::Table).to_owned())
            .await
    }
}
