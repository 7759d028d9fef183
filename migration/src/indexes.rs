//! Creating a table's indexes from a list, for migrations that add several.

use sea_orm_migration::prelude::*;

/// One index: its name, its columns in order, and whether it is unique.
pub(crate) type IndexSpec<T> = (&'static str, Vec<T>, bool);

/// Creates each index on `table`.
pub(crate) async fn create_indexes<T: Iden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    indexes: Vec<IndexSpec<T>>,
) -> Result<(), DbErr> {
    for (name, columns, unique) in indexes {
        let mut index = Index::create().name(name).table(table.clone()).to_owned();
        for column in columns {
            index.col(column);
        }
        if unique {
            index.unique();
        }
        manager.create_index(index).await?;
    }
    Ok(())
}

/// Creates the index `new` on `table` and then drops the one it replaces, `old`: the table is
/// never without one of the two.
pub(crate) async fn replace_index<T: Iden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    new: IndexSpec<T>,
    old: &'static str,
) -> Result<(), DbErr> {
    create_indexes(manager, table.clone(), vec![new]).await?;
    manager
        .drop_index(Index::drop().name(old).table(table).to_owned())
        .await
}
