//! The claim order as an index: due deliveries by time and then id. A wave of reminders falls
//! due at one instant; with the time alone indexed, each claim sorted the whole wave by id to
//! take its first few hundred.

use sea_orm_migration::prelude::*;

use crate::indexes::replace_index;
use crate::m20261130_000016_create_deliveries::Deliveries;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_deliveries_status_next_id";
const REPLACED: &str = "idx_deliveries_status_next";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = vec![Deliveries::Status, Deliveries::NextAttemptAt, Deliveries::Id];
        replace_index(manager, Deliveries::Table, (NAME, columns, false), REPLACED).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = vec![Deliveries::Status, Deliveries::NextAttemptAt];
        replace_index(manager, Deliveries::Table, (REPLACED, columns, false), NAME).await
    }
}
