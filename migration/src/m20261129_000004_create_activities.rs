use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261129_000001_create_organizations::Organizations;
use crate::m20261129_000003_create_programs::Programs;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Activities::Table)
                    .col(big_pk_auto(Activities::Id))
                    .col(string_len_uniq(Activities::Key, 64))
                    .col(big_integer(Activities::ProgramId))
                    .col(string_len(Activities::Kind, 16))
                    .col(integer(Activities::DisplayOrder))
                    .col(string_len(Activities::Title, 200))
                    .col(text_null(Activities::Description))
                    .col(big_integer(Activities::OrganizationId))
                    .col(json(Activities::ServiceKinds))
                    .col(boolean(Activities::Public))
                    .col(integer(Activities::Version))
                    .col(timestamp_with_time_zone(Activities::CreatedAt))
                    .col(timestamp_with_time_zone(Activities::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Activities::Table, Activities::ProgramId)
                            .to(Programs::Table, Programs::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Activities::Table, Activities::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // Lists are ordered by (display_order, id) within a program.
        manager
            .create_index(
                Index::create()
                    .name("idx_activities_program_order")
                    .table(Activities::Table)
                    .col(Activities::ProgramId)
                    .col(Activities::DisplayOrder)
                    .col(Activities::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_activities_organization")
                    .table(Activities::Table)
                    .col(Activities::OrganizationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Activities::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Activities {
    Table,
    Id,
    Key,
    ProgramId,
    Kind,
    DisplayOrder,
    Title,
    Description,
    OrganizationId,
    ServiceKinds,
    Public,
    Version,
    CreatedAt,
    UpdatedAt,
}
