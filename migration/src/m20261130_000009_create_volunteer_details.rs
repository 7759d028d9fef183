//! A volunteer's team memberships, qualifications and unavailability windows.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261130_000007_create_teams::Teams;
use crate::m20261130_000008_create_volunteers::Volunteers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TeamMemberships::Table)
                    .col(big_integer(TeamMemberships::TeamId))
                    .col(big_integer(TeamMemberships::VolunteerId))
                    .col(boolean(TeamMemberships::Leader))
                    .primary_key(
                        Index::create()
                            .col(TeamMemberships::TeamId)
                            .col(TeamMemberships::VolunteerId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TeamMemberships::Table, TeamMemberships::TeamId)
                            .to(Teams::Table, Teams::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TeamMemberships::Table, TeamMemberships::VolunteerId)
                            .to(Volunteers::Table, Volunteers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_team_memberships_volunteer")
                    .table(TeamMemberships::Table)
                    .col(TeamMemberships::VolunteerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Qualifications::Table)
                    .col(big_pk_auto(Qualifications::Id))
                    .col(big_integer(Qualifications::VolunteerId))
                    .col(string_len(Qualifications::Name, 64))
                    .col(date_null(Qualifications::ValidFrom))
                    .col(date_null(Qualifications::ValidUntil))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Qualifications::Table, Qualifications::VolunteerId)
                            .to(Volunteers::Table, Volunteers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_qualifications_volunteer")
                    .table(Qualifications::Table)
                    .col(Qualifications::VolunteerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Unavailabilities::Table)
                    .col(big_pk_auto(Unavailabilities::Id))
                    .col(big_integer(Unavailabilities::VolunteerId))
                    .col(timestamp_with_time_zone(Unavailabilities::StartsAt))
                    .col(timestamp_with_time_zone(Unavailabilities::EndsAt))
                    .col(string_len_null(Unavailabilities::Reason, 200))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Unavailabilities::Table, Unavailabilities::VolunteerId)
                            .to(Volunteers::Table, Volunteers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_unavailabilities_volunteer")
                    .table(Unavailabilities::Table)
                    .col(Unavailabilities::VolunteerId)
                    .col(Unavailabilities::StartsAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Unavailabilities::Table.into_iden(),
            Qualifications::Table.into_iden(),
            TeamMemberships::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum TeamMemberships {
    Table,
    TeamId,
    VolunteerId,
    Leader,
}

#[derive(DeriveIden)]
pub enum Qualifications {
    Table,
    Id,
    VolunteerId,
    Name,
    ValidFrom,
    ValidUntil,
}

#[derive(DeriveIden)]
pub enum Unavailabilities {
    Table,
    Id,
    VolunteerId,
    StartsAt,
    EndsAt,
    Reason,
}
