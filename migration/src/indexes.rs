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
