use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261129_000005_create_sessions::Sessions;
use crate::m20261130_000007_create_teams::Teams;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SessionRoles::Table)
                    .col(big_pk_auto(SessionRoles::Id))
                    .col(string_len_uniq(SessionRoles::Key, 64))
                    .col(big_integer(SessionRoles::SessionId))
                    .col(string_len(SessionRoles::Name, 200))
                    .col(integer(SessionRoles::Needed))
                    .col(big_integer_null(SessionRoles::TeamId))
                    .col(json(SessionRoles::Qualifications))
                    .col(integer(SessionRoles::Version))
                    .col(timestamp_with_time_zone(SessionRoles::CreatedAt))
                    .col(timestamp_with_time_zone(SessionRoles::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionRoles::Table, SessionRoles::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionRoles::Table, SessionRoles::TeamId)
                            .to(Teams::Table, Teams::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_session_roles_session")
                    .table(SessionRoles::Table)
                    .col(SessionRoles::SessionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SessionRoles::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum SessionRoles {
    Table,
    Id,
    Key,
    SessionId,
    Name,
    Needed,
    TeamId,
    Qualifications,
    Version,
    CreatedAt,
    UpdatedAt,
}
