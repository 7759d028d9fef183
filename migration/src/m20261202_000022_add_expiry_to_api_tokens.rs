//! `api_tokens.expires_at` (an optional end of validity) and `api_tokens.last_used_at`, so
//! admins can hand out tokens for the weeks of a program and see which ones are still in use.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261129_000006_create_api_tokens::ApiTokens;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [Token::ExpiresAt, Token::LastUsedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiTokens::Table)
                        .add_column(timestamp_with_time_zone_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Token::LastUsedAt, Token::ExpiresAt] {
            manager
                .alter_table(Table::alter().table(ApiTokens::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Token {
    ExpiresAt,
    LastUsedAt,
}
