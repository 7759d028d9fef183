use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(big_pk_auto(Organizations::Id))
                    .col(string_len_uniq(Organizations::Key, 64))
                    .col(big_integer_null(Organizations::ParentId))
                    .col(string_len(Organizations::Path, 512))
                    .col(string_len(Organizations::Kind, 32))
                    .col(string_len(Organizations::Name, 200))
                    .col(string_len_null(Organizations::ShortName, 64))
                    .col(string_len_null(Organizations::ContactName, 64))
                    .col(string_len_null(Organizations::ContactOfficePhone, 32))
                    .col(string_len_null(Organizations::ContactMobile, 32))
                    .col(string_len_null(Organizations::ContactFax, 32))
                    .col(string_len_null(Organizations::ContactEmail, 254))
                    .col(integer(Organizations::Version))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .col(timestamp_with_time_zone(Organizations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Organizations::Table, Organizations::ParentId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_organizations_parent")
                    .table(Organizations::Table)
                    .col(Organizations::ParentId)
                    .to_owned(),
            )
            .await?;
        // Subtree queries are prefix matches on the path.
        manager
            .create_index(
                Index::create()
                    .name("idx_organizations_path")
                    .table(Organizations::Table)
                    .col(Organizations::Path)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Organizations::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Organizations {
    Table,
    Id,
    Key,
    ParentId,
    Path,
    Kind,
    Name,
    ShortName,
    ContactName,
    ContactOfficePhone,
    ContactMobile,
    ContactFax,
    ContactEmail,
    Version,
    CreatedAt,
    UpdatedAt,
}
