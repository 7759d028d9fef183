use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261129_000002_create_venues::Venues;
use crate::m20261129_000003_create_programs::Programs;
use crate::m20261129_000004_create_activities::Activities;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(big_pk_auto(Sessions::Id))
                    .col(string_len_uniq(Sessions::Key, 64))
                    .col(big_integer(Sessions::ProgramId))
                    .col(big_integer(Sessions::ActivityId))
                    .col(big_integer(Sessions::VenueId))
                    .col(string_len_null(Sessions::Title, 200))
                    .col(text_null(Sessions::Description))
                    .col(string_len(Sessions::TimeZone, 64))
                    .col(boolean(Sessions::AllDay))
                    .col(timestamp_with_time_zone(Sessions::StartsAt))
                    .col(timestamp_with_time_zone(Sessions::EndsAt))
                    .col(date_null(Sessions::StartDate))
                    .col(date_null(Sessions::EndDate))
                    .col(string_len(Sessions::Status, 16))
                    .col(integer_null(Sessions::Capacity))
                    .col(string_len_null(Sessions::VideoUrl, 2048))
                    .col(big_integer_null(Sessions::LinkedSessionId))
                    .col(boolean(Sessions::Illustrative).default(false))
                    .col(integer(Sessions::Version))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Sessions::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::ProgramId)
                            .to(Programs::Table, Programs::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::ActivityId)
                            .to(Activities::Table, Activities::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::VenueId)
                            .to(Venues::Table, Venues::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::LinkedSessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // Every list and feed reads sessions of one scope in start order.
        for (name, scope) in [
            ("idx_sessions_program_start", Sessions::ProgramId),
            ("idx_sessions_activity_start", Sessions::ActivityId),
            ("idx_sessions_venue_start", Sessions::VenueId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Sessions::Table)
                        .col(scope)
                        .col(Sessions::StartsAt)
                        .col(Sessions::Id)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_start")
                    .table(Sessions::Table)
                    .col(Sessions::StartsAt)
                    .col(Sessions::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_linked")
                    .table(Sessions::Table)
                    .col(Sessions::LinkedSessionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Sessions {
    Table,
    Id,
    Key,
    ProgramId,
    ActivityId,
    VenueId,
    Title,
    Description,
    TimeZone,
    AllDay,
    StartsAt,
    EndsAt,
    StartDate,
    EndDate,
    Status,
    Capacity,
    VideoUrl,
    LinkedSessionId,
    Illustrative,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}
