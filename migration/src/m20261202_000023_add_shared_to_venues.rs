//! `venues.shared`: the owning organization lets the other organizations of its programs
//! schedule sessions at the venue (a city science museum that county associations use).

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns;
use crate::m20261129_000002_create_venues::Venues;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        columns::add(
            manager,
            Venues::Table,
            boolean(Shared::Shared).default(false).to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        columns::drop(manager, Venues::Table, Shared::Shared).await
    }
}

#[derive(DeriveIden)]
enum Shared {
    Shared,
}
