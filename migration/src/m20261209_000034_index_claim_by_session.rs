//! The claim order groups a session's deliveries: due deliveries by time, then session, then
//! id. The reminders of one session to its several subscriptions fall due at one instant, and
//! a round that claims them together reads the session and its roster once for all of them.

use sea_orm_migration::prelude::*;

use crate::indexes::replace_index;
use crate::m20261130_000016_create_deliveries::Deliveries;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_deliveries_claim_order";
const REPLACED: &str = "idx_deliveries_status_next_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = vec![
            Deliveries::Status,
            Deliveries::NextAttemptAt,
            Deliveries::SessionId,
            Deliveries::Id,
        ];
        replace_index(manager, Deliveries::Table, (NAME, columns, false), REPLACED).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = vec![Deliveries::Status, Deliveries::NextAttemptAt, Deliveries::Id];
        replace_index(manager, Deliveries::Table, (REPLACED, columns, false), NAME).await
    }
}
