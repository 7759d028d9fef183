//! `session_changes`: each change of a session's time, place or status, so its page can say
//! what moved (时间调整：09:00 → 10:30) and when.

use sea_orm_migration::{prelude::*, schema::*};

use crate::indexes::create_indexes;
use crate::m20261129_000005_create_sessions::Sessions;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SessionChanges::Table)
                    .col(big_pk_auto(SessionChanges::Id))
                    .col(big_integer(SessionChanges::SessionId))
                    .col(integer(SessionChanges::Sequence))
                    .col(timestamp_with_time_zone(SessionChanges::ChangedAt))
                    .col(boolean(SessionChanges::OldAllDay))
                    .col(timestamp_with_time_zone(SessionChanges::OldStartsAt))
                    .col(timestamp_with_time_zone(SessionChanges::OldEndsAt))
                    .col(big_integer(SessionChanges::OldVenueId))
                    .col(string_len(SessionChanges::OldStatus, 16))
                    .col(boolean(SessionChanges::NewAllDay))
                    .col(timestamp_with_time_zone(SessionChanges::NewStartsAt))
                    .col(timestamp_with_time_zone(SessionChanges::NewEndsAt))
                    .col(big_integer(SessionChanges::NewVenueId))
                    .col(string_len(SessionChanges::NewStatus, 16))
                    .col(boolean(SessionChanges::Deleted))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionChanges::Table, SessionChanges::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            SessionChanges::Table,
            vec![(
                "idx_session_changes_session",
                vec![SessionChanges::SessionId, SessionChanges::Id],
                false,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SessionChanges::Table).to_owned())
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
pub enum SessionChanges {
    Table,
    Id,
    SessionId,
    Sequence,
    ChangedAt,
    OldAllDay,
    OldStartsAt,
    OldEndsAt,
    OldVenueId,
    OldStatus,
    NewAllDay,
    NewStartsAt,
    NewEndsAt,
    NewVenueId,
    NewStatus,
    Deleted,
}
