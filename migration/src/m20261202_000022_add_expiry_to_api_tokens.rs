//! `api_tokens.expires_at` (an optional end of validity) and `api_tokens.last_used_at`, so
//! admins can hand out tokens for the weeks of a program and see which ones are still in use.

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns;
use crate::m20261129_000006_create_api_tokens::ApiTokens;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Token::ExpiresAt, Token::LastUsedAt] {
            columns::add(manager, ApiTokens::Table, timestamp_with_time_zone_null(column)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Token::LastUsedAt, Token::ExpiresAt] {
            columns::drop(manager, ApiTokens::Table, column).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Token {
    ExpiresAt,
    LastUsedAt,
}
