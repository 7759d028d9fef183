use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261129_000001_create_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Programs::Table)
                    .col(big_pk_auto(Programs::Id))
                    .col(string_len_uniq(Programs::Key, 64))
                    .col(string_len(Programs::Name, 200))
                    .col(string_len_null(Programs::Theme, 500))
                    .col(string_len(Programs::TimeZone, 64))
                    .col(big_integer(Programs::HostOrganizationId))
                    .col(timestamp_with_time_zone_null(Programs::PlanDeadline))
                    .col(integer(Programs::Version))
                    .col(timestamp_with_time_zone(Programs::CreatedAt))
                    .col(timestamp_with_time_zone(Programs::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Programs::Table, Programs::HostOrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_programs_host")
                    .table(Programs::Table)
                    .col(Programs::HostOrganizationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Programs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Programs {
    Table,
    Id,
    Key,
    Name,
    Theme,
    TimeZone,
    HostOrganizationId,
    PlanDeadline,
    Version,
    CreatedAt,
    UpdatedAt,
}
