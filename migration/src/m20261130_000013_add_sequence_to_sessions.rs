//! `sessions.sequence`: the iCalendar SEQUENCE, raised only when time, place or status change.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261129_000005_create_sessions::Sessions;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(integer(Sequence::Sequence).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .drop_column(Sequence::Sequence)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Sequence {
    Sequence,
}
