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
                    .table(Volunteers::Table)
                    .col(big_pk_auto(Volunteers::Id))
                    .col(string_len_uniq(Volunteers::Key, 64))
                    .col(string_len(Volunteers::Name, 200))
                    .col(string_len_null(Volunteers::Mobile, 20))
                    .col(string_len_null(Volunteers::Email, 254))
                    .col(big_integer(Volunteers::OrganizationId))
                    .col(json(Volunteers::Tags))
                    .col(integer(Volunteers::Version))
                    .col(timestamp_with_time_zone(Volunteers::CreatedAt))
                    .col(timestamp_with_time_zone(Volunteers::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Volunteers::Table, Volunteers::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_volunteers_organization")
                    .table(Volunteers::Table)
                    .col(Volunteers::OrganizationId)
                    .col(Volunteers::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Volunteers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Volunteers {
    Table,
    Id,
    Key,
    Name,
    Mobile,
    Email,
    OrganizationId,
    Tags,
    Version,
    CreatedAt,
    UpdatedAt,
}
