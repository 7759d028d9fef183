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
                    .table(Teams::Table)
                    .col(big_pk_auto(Teams::Id))
                    .col(string_len_uniq(Teams::Key, 64))
                    .col(big_integer(Teams::OrganizationId))
                    .col(big_integer_null(Teams::ParentId))
                    .col(string_len(Teams::Path, 512))
                    .col(string_len(Teams::Name, 200))
                    .col(text_null(Teams::Description))
                    .col(integer(Teams::Version))
                    .col(timestamp_with_time_zone(Teams::CreatedAt))
                    .col(timestamp_with_time_zone(Teams::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Teams::Table, Teams::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Teams::Table, Teams::ParentId)
                            .to(Teams::Table, Teams::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_teams_organization", Teams::OrganizationId),
            ("idx_teams_parent", Teams::ParentId),
            ("idx_teams_path", Teams::Path),
        ] {
            manager
                .create_index(Index::create().name(name).table(Teams::Table).col(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Teams::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Teams {
    Table,
    Id,
    Key,
    OrganizationId,
    ParentId,
    Path,
    Name,
    Description,
    Version,
    CreatedAt,
    UpdatedAt,
}
