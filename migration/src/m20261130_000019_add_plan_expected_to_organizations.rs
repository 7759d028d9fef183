//! `organizations.plan_expected`: a society (or any other organization) the host association
//! expects a preparation plan from. County associations are always expected.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261129_000001_create_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(boolean(Expected::PlanExpected).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .drop_column(Expected::PlanExpected)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Expected {
    PlanExpected,
}
