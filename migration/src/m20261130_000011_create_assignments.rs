use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261129_000005_create_sessions::Sessions;
use crate::m20261129_000006_create_api_tokens::ApiTokens;
use crate::m20261130_000008_create_volunteers::Volunteers;
use crate::m20261130_000010_create_session_roles::SessionRoles;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Assignments::Table)
                    .col(big_pk_auto(Assignments::Id))
                    .col(string_len_uniq(Assignments::Key, 64))
                    .col(big_integer(Assignments::RoleId))
                    .col(big_integer(Assignments::SessionId))
                    .col(big_integer(Assignments::VolunteerId))
                    .col(string_len(Assignments::Status, 16))
                    .col(string_len_null(Assignments::Reason, 500))
                    .col(timestamp_with_time_zone_null(Assignments::CheckedInAt))
                    .col(json(Assignments::OverriddenRules))
                    .col(string_len_null(Assignments::OverrideReason, 500))
                    .col(big_integer_null(Assignments::OverriddenBy))
                    .col(json_null(Assignments::Conflicts))
                    .col(timestamp_with_time_zone_null(Assignments::FlaggedAt))
                    .col(integer(Assignments::Version))
                    .col(timestamp_with_time_zone(Assignments::CreatedAt))
                    .col(timestamp_with_time_zone(Assignments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assignments::Table, Assignments::RoleId)
                            .to(SessionRoles::Table, SessionRoles::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assignments::Table, Assignments::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assignments::Table, Assignments::VolunteerId)
                            .to(Volunteers::Table, Volunteers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assignments::Table, Assignments::OverriddenBy)
                            .to(ApiTokens::Table, ApiTokens::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // Capacity counts a role's active assignments; the overlap check reads one volunteer's.
        for (name, columns) in [
            (
                "idx_assignments_role_status",
                [Assignments::RoleId, Assignments::Status],
            ),
            (
                "idx_assignments_volunteer_status",
                [Assignments::VolunteerId, Assignments::Status],
            ),
            (
                "idx_assignments_session_status",
                [Assignments::SessionId, Assignments::Status],
            ),
        ] {
            let mut index = Index::create().name(name).table(Assignments::Table).to_owned();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Assignments::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Assignments {
    Table,
    Id,
    Key,
    RoleId,
    SessionId,
    VolunteerId,
    Status,
    Reason,
    CheckedInAt,
    OverriddenRules,
    OverrideReason,
    OverriddenBy,
    Conflicts,
    FlaggedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}
