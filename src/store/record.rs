//! What every versioned table has in common: rows found by id or key, created at version 1,
//! and rewritten as a new version only when something a reader would see has changed.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PrimaryKeyTrait, QueryFilter, QuerySelect, Set,
};

use super::found;
use crate::error::{Error, Result};

/// The row type of an active model's table.
pub type Row<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Model;

/// A table whose rows have a unique `key`, a `version` and timestamps.
pub trait Versioned: ActiveModelTrait + ActiveModelBehavior + Send + 'static
where
    Row<Self>: IntoActiveModel<Self>,
{
    /// The `key` column.
    fn key_column() -> <Self::Entity as EntityTrait>::Column;
    /// The record's name in messages ("venue").
    const WHAT: &'static str;
    /// The version of a stored row.
    fn version_of(row: &Row<Self>) -> i32;
    /// Sets the version and the time of the change (and of creation, for version 1).
    fn stamp(&mut self, version: i32, now: DateTime<Utc>);
}

/// The writable fields of a table, compared to decide whether an update changes anything.
pub trait Fields<A: Versioned>: PartialEq + Sized
where
    Row<A>: IntoActiveModel<A>,
{
    /// The fields as stored in `row`.
    fn of(row: &Row<A>) -> Self;
    /// Writes the fields into an active model.
    fn write_to(self, row: &mut A);
}

/// One row by id.
pub(crate) async fn find<A: Versioned>(conn: &impl ConnectionTrait, id: i64) -> Result<Row<A>>
where
    Row<A>: IntoActiveModel<A>,
    <<A::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    found(A::Entity::find_by_id(id).one(conn).await?, A::WHAT)
}

/// The rows with these ids (those that exist), by id, read 500 ids a statement.
pub(crate) async fn by_ids<A: Versioned>(
    conn: &impl ConnectionTrait,
    ids: &[i64],
    id_of: impl Fn(&Row<A>) -> i64,
) -> Result<std::collections::HashMap<i64, Row<A>>>
where
    Row<A>: IntoActiveModel<A>,
{
    use sea_orm::{Iterable as _, PrimaryKeyToColumn as _};
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    let Some(key) = <A::Entity as EntityTrait>::PrimaryKey::iter().next() else {
        return Ok(found);
    };
    let column = key.into_column();
    for chunk in ids.chunks(500) {
        let rows = A::Entity::find()
            .filter(column.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        found.extend(rows.into_iter().map(|row| (id_of(&row), row)));
    }
    Ok(found)
}

/// One row by id, locked until the transaction ends (PostgreSQL; SQLite has one writer).
pub(crate) async fn find_for_update<A: Versioned>(txn: &DatabaseTransaction, id: i64) -> Result<Row<A>>
where
    Row<A>: IntoActiveModel<A>,
    <<A::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    found(A::Entity::find_by_id(id).lock_exclusive().one(txn).await?, A::WHAT)
}

/// One row by key.
pub(crate) async fn find_by_key<A: Versioned>(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Row<A>>>
where
    Row<A>: IntoActiveModel<A>,
{
    Ok(A::Entity::find().filter(A::key_column().eq(key)).one(conn).await?)
}

/// Creates a row from `row` (holding the key and whatever never changes) and `fields`.
pub(crate) async fn create<A: Versioned, F: Fields<A>>(
    txn: &DatabaseTransaction,
    key: &str,
    mut row: A,
    fields: F,
    now: DateTime<Utc>,
) -> Result<Row<A>>
where
    Row<A>: IntoActiveModel<A>,
{
    if find_by_key::<A>(txn, key).await?.is_some() {
        return Err(Error::conflict(
            "duplicate_key",
            format!("a {} with key {key:?} exists", A::WHAT),
        ));
    }
    fields.write_to(&mut row);
    row.stamp(1, now);
    Ok(row.insert(txn).await?)
}

/// Writes `fields` as the next version of `current`; returns `current` untouched (same
/// version) when the fields are what it already holds.
pub(crate) async fn save<A: Versioned, F: Fields<A>>(
    txn: &DatabaseTransaction,
    current: Row<A>,
    fields: F,
    now: DateTime<Utc>,
) -> Result<Row<A>>
where
    Row<A>: IntoActiveModel<A>,
{
    if F::of(&current) == fields {
        return Ok(current);
    }
    let version = A::version_of(&current) + 1;
    let mut row = current.into_active_model();
    fields.write_to(&mut row);
    row.stamp(version, now);
    Ok(row.update(txn).await?)
}

/// Implements [`Versioned`] for entity modules whose tables have `key`, `version`,
/// `created_at` and `updated_at`.
macro_rules! versioned {
    ($($module:ident => $what:literal),+ $(,)?) => {
        $(
            impl Versioned for entity::$module::ActiveModel {
                const WHAT: &'static str = $what;

                fn key_column() -> entity::$module::Column {
                    entity::$module::Column::Key
                }

                fn version_of(row: &entity::$module::Model) -> i32 {
                    row.version
                }

                fn stamp(&mut self, version: i32, now: DateTime<Utc>) {
                    self.version = Set(version);
                    self.updated_at = Set(now);
                    if version == 1 {
                        self.created_at = Set(now);
                    }
                }
            }
        )+
    };
}

versioned! {
    organization => "organization",
    venue => "venue",
    program => "program",
    activity => "activity",
    session => "session",
    team => "team",
    volunteer => "volunteer",
    session_role => "session role",
    assignment => "assignment",
    webhook => "webhook",
}
