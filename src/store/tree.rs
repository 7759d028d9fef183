//! Trees kept as materialized paths (`/1/4/17/`): organizations and teams. A subtree is every
//! row whose path starts with its root's path, so scope checks need no recursive query.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, Set,
    Value,
};

use super::record::{self, Fields, Row, Versioned};
use crate::error::{Error, Result};

/// The path of row `id` placed under `parent_path` (or at the top).
pub fn child_path(parent_path: Option<&str>, id: i64) -> String {
    format!("{}{id}/", parent_path.unwrap_or("/"))
}

/// Rewrites the paths of every row below `old_path` to hang below `new_path` instead.
pub async fn move_subtree<E: EntityTrait>(
    txn: &DatabaseTransaction,
    path: E::Column,
    old_path: &str,
    new_path: &str,
) -> Result<()> {
    let keep_from = i32::try_from(old_path.chars().count())
        .unwrap_or(i32::MAX)
        .saturating_add(1);
    // `||` and `substr` mean the same on SQLite and PostgreSQL; only the placeholders differ.
    let template = match txn.get_database_backend() {
        DatabaseBackend::Postgres => "$1 || substr(path, $2)",
        _ => "? || substr(path, ?)",
    };
    let rewritten = Expr::cust_with_values(template, [Value::from(new_path), Value::from(keep_from)]);
    E::update_many()
        .col_expr(path, rewritten)
        .filter(path.starts_with(old_path))
        .filter(path.ne(old_path))
        .exec(txn)
        .await?;
    Ok(())
}

/// A versioned table kept as a tree of materialized paths.
pub trait Node: Versioned
where
    Row<Self>: IntoActiveModel<Self>,
{
    /// The `path` column.
    fn path_column() -> <Self::Entity as EntityTrait>::Column;
    /// What a loop is called in the error ("an organization cannot be placed under …").
    const CYCLE: &'static str;
    /// A stored row's id, parent and path.
    fn position(row: &Row<Self>) -> (i64, Option<i64>, &str);
    /// Puts the row under `parent_id` at `path`.
    fn place(&mut self, parent_id: Option<i64>, path: String);
}

/// Creates a node under `parent` (or at the top). The path needs the new id, so it is written
/// right after the insert, in the same transaction.
pub async fn insert<A: Node, F: Fields<A>>(
    txn: &DatabaseTransaction,
    key: &str,
    mut row: A,
    parent: Option<&Row<A>>,
    fields: F,
    now: DateTime<Utc>,
) -> Result<Row<A>>
where
    Row<A>: IntoActiveModel<A>,
{
    let parent = parent.map(|p| A::position(p));
    row.place(parent.map(|(id, _, _)| id), String::new());
    let inserted = record::create(txn, key, row, fields, now).await?;
    let (id, _, _) = A::position(&inserted);
    let mut row = inserted.into_active_model();
    row.place(
        parent.map(|(id, _, _)| id),
        child_path(parent.map(|(_, _, path)| path), id),
    );
    Ok(row.update(txn).await?)
}

/// Applies new fields and, when `new_parent` is given, moves the node (and everything below
/// it) under the new parent; a node cannot move under itself or its descendants.
pub async fn update<A: Node, F: Fields<A>>(
    txn: &DatabaseTransaction,
    current: Row<A>,
    new_parent: Option<Option<&Row<A>>>,
    fields: F,
    now: DateTime<Utc>,
) -> Result<Row<A>>
where
    Row<A>: IntoActiveModel<A>,
{
    let (id, parent_id, old_path) = A::position(&current);
    let old_path = old_path.to_owned();
    let new_parent = new_parent.map(|p| p.map(|p| A::position(p)));
    let moves = new_parent.is_some_and(|p| p.map(|(id, _, _)| id) != parent_id);
    if !moves {
        return record::save(txn, current, fields, now).await;
    }
    let parent = new_parent.flatten();
    if parent.is_some_and(|(_, _, path)| path.starts_with(&old_path)) {
        return Err(Error::field("parent_id", "cycle", A::CYCLE));
    }
    let new_path = child_path(parent.map(|(_, _, path)| path), id);
    let version = A::version_of(&current) + 1;
    let mut row = current.into_active_model();
    fields.write_to(&mut row);
    row.place(parent.map(|(id, _, _)| id), new_path.clone());
    row.stamp(version, now);
    move_subtree::<A::Entity>(txn, A::path_column(), &old_path, &new_path).await?;
    Ok(row.update(txn).await?)
}

macro_rules! node {
    ($($module:ident => $cycle:literal),+ $(,)?) => {
        $(
            impl Node for entity::$module::ActiveModel {
                const CYCLE: &'static str = $cycle;

                fn path_column() -> entity::$module::Column {
                    entity::$module::Column::Path
                }

                fn position(row: &entity::$module::Model) -> (i64, Option<i64>, &str) {
                    (row.id, row.parent_id, &row.path)
                }

                fn place(&mut self, parent_id: Option<i64>, path: String) {
                    self.parent_id = Set(parent_id);
                    self.path = Set(path);
                }
            }
        )+
    };
}

node! {
    organization => "an organization cannot be placed under itself or its own sub-organizations",
    team => "a team cannot be placed under itself or its own sub-teams",
}
