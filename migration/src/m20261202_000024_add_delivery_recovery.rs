//! What recovering from a killed dispatcher and pacing a robot need: `deliveries.maybe_sent`
//! (an attempt whose outcome is unknown was made: a timeout, or a dispatcher that died
//! mid-send), and on `webhooks` the end of a robot's gather window and of a platform's
//! throttle.

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns;
use crate::m20261130_000015_create_webhooks::Webhooks;
use crate::m20261130_000016_create_deliveries::Deliveries;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        columns::add(
            manager,
            Deliveries::Table,
            boolean(Added::MaybeSent).default(false).to_owned(),
        )
        .await?;
        for column in [Added::GatheringUntil, Added::ThrottledUntil] {
            columns::add(manager, Webhooks::Table, timestamp_with_time_zone_null(column)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Added::ThrottledUntil, Added::GatheringUntil] {
            columns::drop(manager, Webhooks::Table, column).await?;
        }
        columns::drop(manager, Deliveries::Table, Added::MaybeSent).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    MaybeSent,
    GatheringUntil,
    ThrottledUntil,
}
