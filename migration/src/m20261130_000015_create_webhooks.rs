//! `webhooks`: subscriptions that send reminders and change notices to chat robots and other
//! receivers.

use sea_orm_migration::{prelude::*, schema::*};

use crate::indexes::create_indexes;
use crate::m20261129_000001_create_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(big_pk_auto(Webhooks::Id))
                    .col(string_len_uniq(Webhooks::Key, 64))
                    .col(big_integer(Webhooks::OrganizationId))
                    .col(string_len_null(Webhooks::Name, 200))
                    .col(string_len(Webhooks::Url, 2048))
                    .col(string_len(Webhooks::UrlShown, 2048))
                    .col(string_len(Webhooks::Format, 16))
                    .col(string_len(Webhooks::ScopeKind, 16))
                    .col(big_integer(Webhooks::ScopeId))
                    .col(json(Webhooks::Events))
                    .col(json(Webhooks::Offsets))
                    .col(string_len_null(Webhooks::Secret, 200))
                    .col(string_len_null(Webhooks::Keyword, 100))
                    .col(boolean(Webhooks::Mention))
                    .col(boolean(Webhooks::Enabled))
                    .col(string_len_null(Webhooks::DisabledReason, 500))
                    .col(timestamp_with_time_zone_null(Webhooks::FailingSince))
                    .col(integer(Webhooks::Version))
                    .col(timestamp_with_time_zone(Webhooks::CreatedAt))
                    .col(timestamp_with_time_zone(Webhooks::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Webhooks::Table, Webhooks::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // Changes find the subscriptions whose scope covers them; organizers list their own.
        create_indexes(
            manager,
            Webhooks::Table,
            vec![
                (
                    "idx_webhooks_scope",
                    vec![Webhooks::ScopeKind, Webhooks::ScopeId],
                    false,
                ),
                (
                    "idx_webhooks_organization",
                    vec![Webhooks::OrganizationId, Webhooks::Id],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Webhooks::Table).to_owned())
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
pub enum Webhooks {
    Table,
    Id,
    Key,
    OrganizationId,
    Name,
    Url,
    UrlShown,
    Format,
    ScopeKind,
    ScopeId,
    Events,
    Offsets,
    Secret,
    Keyword,
    Mention,
    Enabled,
    DisabledReason,
    FailingSince,
    Version,
    CreatedAt,
    UpdatedAt,
}
