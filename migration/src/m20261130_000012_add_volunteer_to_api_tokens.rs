use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261129_000006_create_api_tokens::ApiTokens;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Volunteer tokens belong to one volunteer. SQLite cannot add a foreign key to an
        // existing table, so the column is checked by the code that writes it.
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .add_column(big_integer_null(Token::VolunteerId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .drop_column(Token::VolunteerId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Token {
    VolunteerId,
}
