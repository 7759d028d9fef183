//! `volunteers.feed_token`: the unguessable part of a volunteer's personal calendar URL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::m20261130_000008_create_volunteers::Volunteers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Volunteers::Table)
                    .add_column(ColumnDef::new(Token::FeedToken).string_len(32).null())
                    .to_owned(),
            )
            .await?;
        // Volunteers who exist already get a random token: 128 bits as 32 hex digits.
        let backend = manager.get_database_backend();
        let fill = match backend {
            DatabaseBackend::Postgres => {
                "UPDATE volunteers SET feed_token = md5(random()::text || clock_timestamp()::text || id::text) WHERE feed_token IS NULL"
            }
            _ => "UPDATE volunteers SET feed_token = lower(hex(randomblob(16))) WHERE feed_token IS NULL",
        };
        manager
            .get_connection()
            .execute_raw(Statement::from_string(backend, fill))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_volunteers_feed_token")
                    .table(Volunteers::Table)
                    .col(Token::FeedToken)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_volunteers_feed_token")
                    .table(Volunteers::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Volunteers::Table)
                    .drop_column(Token::FeedToken)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Token {
    FeedToken,
}
