//! `volunteers.page_token`: the unguessable part of a volunteer's personal page address (and
//! of the pages of the teams they lead). A token of its own, so that handing out the page does
//! not hand out the calendar link, and either can be renewed alone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::m20261130_000008_create_volunteers::Volunteers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::columns::add(
            manager,
            Volunteers::Table,
            ColumnDef::new(Token::PageToken).string_len(32).null().to_owned(),
        )
        .await?;
        // Volunteers who exist already get a random token: 128 bits as 32 hex digits.
        let backend = manager.get_database_backend();
        let fill = match backend {
            DatabaseBackend::Postgres => {
                "UPDATE volunteers SET page_token = md5(random()::text || clock_timestamp()::text || id::text || 'page') WHERE page_token IS NULL"
            }
            _ => "UPDATE volunteers SET page_token = lower(hex(randomblob(16))) WHERE page_token IS NULL",
        };
        manager
            .get_connection()
            .execute_raw(Statement::from_string(backend, fill))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_volunteers_page_token")
                    .table(Volunteers::Table)
                    .col(Token::PageToken)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_volunteers_page_token")
                    .table(Volunteers::Table)
                    .to_owned(),
            )
            .await?;
        crate::columns::drop(manager, Volunteers::Table, Token::PageToken).await
    }
}

#[derive(DeriveIden)]
enum Token {
    PageToken,
}
