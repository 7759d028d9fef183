//! Trees kept as materialized paths (`/1/4/17/`): organizations and teams. A subtree is every
//! row whose path starts with its root's path, so scope checks need no recursive query.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter, Value};

use crate::error::Result;

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
