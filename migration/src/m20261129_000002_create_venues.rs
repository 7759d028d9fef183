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
                    .table(Venues::Table)
                    .col(big_pk_auto(Venues::Id))
                    .col(string_len_uniq(Venues::Key, 64))
                    .col(string_len(Venues::Name, 200))
                    .col(string_len_null(Venues::Address, 500))
                    .col(string_len(Venues::Kind, 40))
                    .col(double_null(Venues::Latitude))
                    .col(double_null(Venues::Longitude))
                    .col(string_len(Venues::TimeZone, 64))
                    .col(big_integer_null(Venues::OrganizationId))
                    .col(boolean(Venues::Illustrative).default(false))
                    .col(integer(Venues::Version))
                    .col(timestamp_with_time_zone(Venues::CreatedAt))
                    .col(timestamp_with_time_zone(Venues::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Venues::Table, Venues::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_venues_organization")
                    .table(Venues::Table)
                    .col(Venues::OrganizationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Venues::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Venues {
    Table,
    Id,
    Key,
    Name,
    Address,
    Kind,
    Latitude,
    Longitude,
    TimeZone,
    OrganizationId,
    Illustrative,
    Version,
    CreatedAt,
    UpdatedAt,
}
