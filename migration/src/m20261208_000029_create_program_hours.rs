//! `program_hours`: each volunteer's assigned time per program, so candidates for a role are
//! ranked by it inside the database, through an index, however many volunteers there are.
//! Filled here from the assignments that exist; the service keeps it with every write since.

use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::{prelude::*, schema::*};

use crate::indexes::create_indexes;
use crate::m20261129_000003_create_programs::Programs;
use crate::m20261130_000008_create_volunteers::Volunteers;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The planned length of a live session's active assignments, summed per program and
/// volunteer: 8 hours a day for all-day sessions, the session's length otherwise.
const BACKFILL_POSTGRES: &str = "\
INSERT INTO program_hours (program_id, volunteer_id, assigned_seconds) \
SELECT s.program_id, a.volunteer_id, SUM(CASE \
    WHEN s.all_day AND s.start_date IS NOT NULL AND s.end_date IS NOT NULL \
        THEN 28800 * (s.end_date - s.start_date + 1) \
    ELSE CAST(FLOOR(EXTRACT(EPOCH FROM s.ends_at - s.starts_at)) AS BIGINT) END) \
FROM assignments a JOIN sessions s ON s.id = a.session_id \
WHERE a.status IN ('proposed', 'confirmed', 'checked_in', 'no_show') AND s.deleted_at IS NULL \
GROUP BY s.program_id, a.volunteer_id";

const BACKFILL_SQLITE: &str = "\
INSERT INTO program_hours (program_id, volunteer_id, assigned_seconds) \
SELECT s.program_id, a.volunteer_id, SUM(CASE \
    WHEN s.all_day AND s.start_date IS NOT NULL AND s.end_date IS NOT NULL \
        THEN 28800 * (CAST(julianday(s.end_date) - julianday(s.start_date) AS INTEGER) + 1) \
    ELSE CAST(strftime('%s', s.ends_at) AS INTEGER) - CAST(strftime('%s', s.starts_at) AS INTEGER) END) \
FROM assignments a JOIN sessions s ON s.id = a.session_id \
WHERE a.status IN ('proposed', 'confirmed', 'checked_in', 'no_show') AND s.deleted_at IS NULL \
GROUP BY s.program_id, a.volunteer_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProgramHours::Table)
                    .col(big_integer(ProgramHours::ProgramId))
                    .col(big_integer(ProgramHours::VolunteerId))
                    .col(big_integer(ProgramHours::AssignedSeconds))
                    .primary_key(
                        Index::create()
                            .col(ProgramHours::ProgramId)
                            .col(ProgramHours::VolunteerId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProgramHours::Table, ProgramHours::ProgramId)
                            .to(Programs::Table, Programs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProgramHours::Table, ProgramHours::VolunteerId)
                            .to(Volunteers::Table, Volunteers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The ranking walks a program's volunteers by (time assigned, id).
        create_indexes(
            manager,
            ProgramHours::Table,
            vec![(
                "idx_program_hours_ranking",
                vec![
                    ProgramHours::ProgramId,
                    ProgramHours::AssignedSeconds,
                    ProgramHours::VolunteerId,
                ],
                false,
            )],
        )
        .await?;
        let backfill = match manager.get_database_backend() {
            DatabaseBackend::Postgres => BACKFILL_POSTGRES,
            _ => BACKFILL_SQLITE,
        };
        manager.get_connection().execute_unprepared(backfill).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProgramHours::Table).to_owned())
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
pub enum ProgramHours {
    Table,
    ProgramId,
    VolunteerId,
    AssignedSeconds,
}
