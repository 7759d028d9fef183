//! Adding and dropping one column, the change most migrations after the first tables make.
//! One column per statement: SQLite alters one thing at a time.

use sea_orm_migration::prelude::*;

/// Adds `column` to `table`.
pub(crate) async fn add(manager: &SchemaManager<'_>, table: impl IntoIden, column: ColumnDef) -> Result<(), DbErr> {
    let mut column = column;
    manager
        .alter_table(Table::alter().table(table).add_column(&mut column).to_owned())
        .await
}

/// Drops `column` from `table`.
pub(crate) async fn drop(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}
