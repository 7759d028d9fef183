//! `program_hour_blocks`: how many volunteers of each block of 1,024 volunteer ids have time
//! in a program, so the ranking of candidates skips the blocks where nobody is free.
//! Filled here from `program_hours`; the service keeps it with every change of those.

use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261129_000003_create_programs::Programs;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Volunteer ids per block; the service's `program_hours::BLOCK` is the same.
const BLOCK: i64 = 1024;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProgramHourBlocks::Table)
                    .col(big_integer(ProgramHourBlocks::ProgramId))
                    .col(big_integer(ProgramHourBlocks::Block))
                    .col(big_integer(ProgramHourBlocks::Busy))
                    .primary_key(
                        Index::create()
                            .col(ProgramHourBlocks::ProgramId)
                            .col(ProgramHourBlocks::Block),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProgramHourBlocks::Table, ProgramHourBlocks::ProgramId)
                            .to(Programs::Table, Programs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO program_hour_blocks (program_id, block, busy) \
                 SELECT program_id, volunteer_id / {BLOCK}, COUNT(*) FROM program_hours \
                 WHERE assigned_seconds > 0 GROUP BY program_id, volunteer_id / {BLOCK}"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProgramHourBlocks::Table).to_owned())
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
pub enum ProgramHourBlocks {
    Table,
    ProgramId,
    Block,
    Busy,
}
