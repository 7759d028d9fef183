//! `page_actions`: what a volunteer's or team leader's page did for each idempotency key, so
//! an action sent again (a phone retrying after a lost connection) is answered as the first
//! time and counts once.

use sea_orm_migration::{prelude::*, schema::*};

use crate::indexes::create_indexes;
use crate::m20261130_000008_create_volunteers::Volunteers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PageActions::Table)
                    .col(big_pk_auto(PageActions::Id))
                    .col(big_integer(PageActions::VolunteerId))
                    .col(string_len(PageActions::Key, 64))
                    .col(string_len(PageActions::Action, 16))
                    .col(big_integer(PageActions::AssignmentId))
                    .col(integer(PageActions::Status))
                    .col(text(PageActions::Answer))
                    .col(timestamp_with_time_zone(PageActions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PageActions::Table, PageActions::VolunteerId)
                            .to(Volunteers::Table, Volunteers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            PageActions::Table,
            vec![(
                "idx_page_actions_key",
                vec![PageActions::VolunteerId, PageActions::Key],
                true,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PageActions::Table).to_owned())
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
pub enum PageActions {
    Table,
    Id,
    VolunteerId,
    Key,
    Action,
    AssignmentId,
    Status,
    Answer,
    CreatedAt,
}
