//! `feed_stamps`: one counter per part of the program a calendar feed can show (a program, an
//! activity, a venue, an organization or team by its path, a volunteer, and `*` for all of
//! them), with when it last moved. Every write raises the counters of what it touched in its own transaction, so a
//! feed knows it changed by reading a few counters instead of aggregating over its rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut key = ColumnDef::new(FeedStamps::Key);
        key.string_len(200).not_null().primary_key();
        // Subtrees are read as key ranges (`organization:/1/4/` up to `organization:/1/40`),
        // which needs byte order; SQLite compares bytes already.
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            key.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(FeedStamps::Table)
                    .col(key)
                    .col(ColumnDef::new(FeedStamps::Stamp).big_integer().not_null())
                    .col(
                        ColumnDef::new(FeedStamps::ChangedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FeedStamps::Table).to_owned())
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
pub enum FeedStamps {
    Table,
    Key,
    Stamp,
    ChangedAt,
}
