//! `audit_entries`: who changed what, when, and the fields that changed, written in the same
//! transaction as the change itself.

use sea_orm_migration::{prelude::*, schema::*};

use crate::indexes::create_indexes;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign keys: the trail outlives the records it speaks of.
        manager
            .create_table(
                Table::create()
                    .table(AuditEntries::Table)
                    .col(big_pk_auto(AuditEntries::Id))
                    .col(timestamp_with_time_zone(AuditEntries::At))
                    .col(string_len(AuditEntries::ActorRole, 16))
                    .col(big_integer_null(AuditEntries::TokenId))
                    .col(big_integer_null(AuditEntries::VolunteerId))
                    .col(string_len_null(AuditEntries::RequestId, 64))
                    .col(string_len(AuditEntries::Action, 32))
                    .col(string_len(AuditEntries::ObjectType, 32))
                    .col(big_integer(AuditEntries::ObjectId))
                    .col(big_integer_null(AuditEntries::OrganizationId))
                    .col(big_integer_null(AuditEntries::CauseId))
                    .col(json(AuditEntries::Changes))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            AuditEntries::Table,
            vec![
                (
                    "idx_audit_entries_object",
                    vec![AuditEntries::ObjectType, AuditEntries::ObjectId, AuditEntries::Id],
                    false,
                ),
                ("idx_audit_entries_at", vec![AuditEntries::At], false),
                (
                    "idx_audit_entries_organization",
                    vec![AuditEntries::OrganizationId, AuditEntries::Id],
                    false,
                ),
                ("idx_audit_entries_cause", vec![AuditEntries::CauseId], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEntries::Table).to_owned())
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
pub enum AuditEntries {
    Table,
    Id,
    At,
    ActorRole,
    TokenId,
    VolunteerId,
    RequestId,
    Action,
    ObjectType,
    ObjectId,
    OrganizationId,
    CauseId,
    Changes,
}
