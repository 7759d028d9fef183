//! Preparation plans (附件1 筹备工作方案): one per organization and program, every submitted
//! version of it, its attachments, and the extensions admins grant past the deadline.

use sea_orm_migration::{prelude::*, schema::*};

use crate::indexes::create_indexes;
use crate::m20261129_000001_create_organizations::Organizations;
use crate::m20261129_000002_create_venues::Venues;
use crate::m20261129_000003_create_programs::Programs;
use crate::m20261129_000005_create_sessions::Sessions;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A foreign key from `from` to `to`, doing `on_delete` when the referenced row goes.
fn reference(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

fn restrict(from: (Plans, Plans), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    reference(from, to, ForeignKeyAction::Restrict)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Plans::Table)
                    .col(big_pk_auto(Plans::Id))
                    .col(big_integer(Plans::ProgramId))
                    .col(big_integer(Plans::OrganizationId))
                    .col(string_len(Plans::ActivityName, 200))
                    .col(string_len(Plans::OrganizingUnit, 200))
                    .col(big_integer(Plans::VenueId))
                    .col(boolean(Plans::JoinsVideoLink))
                    .col(string_len(Plans::ContactName, 64))
                    .col(string_len_null(Plans::ContactOfficePhone, 40))
                    .col(string_len(Plans::ContactMobile, 20))
                    .col(string_len_null(Plans::ContactFax, 40))
                    .col(string_len_null(Plans::ContactEmail, 254))
                    .col(text(Plans::Text))
                    .col(integer(Plans::Revision))
                    .col(string_len(Plans::Review, 16))
                    .col(text_null(Plans::ReviewComment))
                    .col(timestamp_with_time_zone_null(Plans::ReviewedAt))
                    .col(big_integer_null(Plans::SessionId))
                    .col(timestamp_with_time_zone(Plans::SubmittedAt))
                    .col(timestamp_with_time_zone(Plans::RevisedAt))
                    .col(integer(Plans::Version))
                    .col(timestamp_with_time_zone(Plans::CreatedAt))
                    .col(timestamp_with_time_zone(Plans::UpdatedAt))
                    .foreign_key(&mut restrict(
                        (Plans::Table, Plans::ProgramId),
                        (Programs::Table, Programs::Id),
                    ))
                    .foreign_key(&mut restrict(
                        (Plans::Table, Plans::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                    ))
                    .foreign_key(&mut restrict(
                        (Plans::Table, Plans::VenueId),
                        (Venues::Table, Venues::Id),
                    ))
                    .foreign_key(&mut restrict(
                        (Plans::Table, Plans::SessionId),
                        (Sessions::Table, Sessions::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One plan per organization and program; a program's plans are listed in id order.
        create_indexes(
            manager,
            Plans::Table,
            vec![
                (
                    "idx_plans_program_organization",
                    vec![Plans::ProgramId, Plans::OrganizationId],
                    true,
                ),
                ("idx_plans_program_id", vec![Plans::ProgramId, Plans::Id], false),
            ],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PlanRevisions::Table)
                    .col(big_pk_auto(PlanRevisions::Id))
                    .col(big_integer(PlanRevisions::PlanId))
                    .col(integer(PlanRevisions::Revision))
                    .col(json(PlanRevisions::Content))
                    .col(timestamp_with_time_zone(PlanRevisions::SubmittedAt))
                    .foreign_key(&mut reference(
                        (PlanRevisions::Table, PlanRevisions::PlanId),
                        (Plans::Table, Plans::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            PlanRevisions::Table,
            vec![(
                "idx_plan_revisions_plan_revision",
                vec![PlanRevisions::PlanId, PlanRevisions::Revision],
                true,
            )],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PlanAttachments::Table)
                    .col(big_pk_auto(PlanAttachments::Id))
                    .col(big_integer(PlanAttachments::PlanId))
                    .col(string_len(PlanAttachments::Kind, 8))
                    .col(string_len(PlanAttachments::FileName, 255))
                    .col(big_integer(PlanAttachments::Size))
                    .col(string_len(PlanAttachments::Sha256, 64))
                    .col(blob(PlanAttachments::Content))
                    .col(timestamp_with_time_zone(PlanAttachments::CreatedAt))
                    .foreign_key(&mut reference(
                        (PlanAttachments::Table, PlanAttachments::PlanId),
                        (Plans::Table, Plans::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            PlanAttachments::Table,
            vec![(
                "idx_plan_attachments_plan_id",
                vec![PlanAttachments::PlanId, PlanAttachments::Id],
                false,
            )],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PlanExtensions::Table)
                    .col(big_pk_auto(PlanExtensions::Id))
                    .col(big_integer(PlanExtensions::ProgramId))
                    .col(big_integer(PlanExtensions::OrganizationId))
                    .col(timestamp_with_time_zone(PlanExtensions::Until))
                    .col(string_len_null(PlanExtensions::Reason, 500))
                    .col(integer(PlanExtensions::Version))
                    .col(timestamp_with_time_zone(PlanExtensions::CreatedAt))
                    .col(timestamp_with_time_zone(PlanExtensions::UpdatedAt))
                    .foreign_key(&mut reference(
                        (PlanExtensions::Table, PlanExtensions::ProgramId),
                        (Programs::Table, Programs::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut reference(
                        (PlanExtensions::Table, PlanExtensions::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            PlanExtensions::Table,
            vec![(
                "idx_plan_extensions_program_organization",
                vec![PlanExtensions::ProgramId, PlanExtensions::OrganizationId],
                true,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PlanExtensions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PlanAttachments::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PlanRevisions::Table).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(Plans::Table).to_owned()).await
    }
}

#[derive(Clone, Copy, DeriveIden)]
pub enum Plans {
    Table,
    Id,
    ProgramId,
    OrganizationId,
    ActivityName,
    OrganizingUnit,
    VenueId,
    JoinsVideoLink,
    ContactName,
    ContactOfficePhone,
    ContactMobile,
    ContactFax,
    ContactEmail,
    Text,
    Revision,
    Review,
    ReviewComment,
    ReviewedAt,
    SessionId,
    SubmittedAt,
    RevisedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum PlanRevisions {
    Table,
    Id,
    PlanId,
    Revision,
    Content,
    SubmittedAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum PlanAttachments {
    Table,
    Id,
    PlanId,
    Kind,
    FileName,
    Size,
    Sha256,
    Content,
    CreatedAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum PlanExtensions {
    Table,
    Id,
    ProgramId,
    OrganizationId,
    Until,
    Reason,
    Version,
    CreatedAt,
    UpdatedAt,
}
