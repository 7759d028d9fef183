//! Every database query of sciday, as functions over a SeaORM connection or transaction.
//!
//! Functions that change data take a [`sea_orm::DatabaseTransaction`] so the caller decides
//! what belongs together; functions that only read take any [`sea_orm::ConnectionTrait`].

pub mod activities;
pub mod assignments;
pub mod audit;
pub mod candidates;
pub mod deliveries;
mod dialect;
pub mod duties;
pub mod feeds;
pub mod hours;
mod judge;
pub mod notices;
pub mod organizations;
pub mod page_actions;
pub mod plan_notices;
pub mod plans;
pub mod program_hours;
pub mod programs;
pub mod purge;
mod reach;
pub mod reminders;
pub mod roles;
pub mod session_changes;
pub mod sessions;
pub mod stamps;
pub mod teams;
pub mod tokens;
pub mod upcoming;
pub mod uses;
pub mod venues;
pub mod volunteers;
pub mod webhooks;

mod page;
mod record;
pub(crate) mod tree;

pub use page::{Cursor, Page, PageRequest};
pub use reach::Reach;
pub use record::{Fields, Versioned};

use crate::error::{Error, Result};

/// What staffing decisions need besides the records: the clock and the travel buffer.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Now.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Time a volunteer needs between sessions at different venues.
    pub travel_buffer: chrono::TimeDelta,
}

/// Who may see non-public activities and their sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Everything (admins).
    All,
    /// Public records only (anonymous readers).
    Public,
    /// Public records and those of organizations under this path (organizers).
    PublicOrWithin(String),
}

/// Refuses an update whose `If-Match` does not name the current version.
pub fn check_version(precondition: &Precondition, current_version: i32) -> Result<()> {
    match precondition {
        Precondition::Any => Ok(()),
        Precondition::Versions(versions) if versions.contains(&current_version) => Ok(()),
        Precondition::Versions(versions) => Err(Error::PreconditionFailed {
            given: versions.iter().map(|v| etag(*v)).collect::<Vec<_>>().join(", "),
            current: etag(current_version),
        }),
    }
}

/// What an `If-Match` header asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// `If-Match: *`: any current version.
    Any,
    /// One of these versions.
    Versions(Vec<i32>),
}

/// The strong ETag of a resource at `version`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Whether the database holds any organization, venue, program or volunteer (tokens alone do
/// not count: a deployment's first admin token comes before its data).
pub async fn holds_data(conn: &impl sea_orm::ConnectionTrait) -> Result<bool> {
    use entity::prelude::{Organization, Program, Venue, Volunteer};
    use sea_orm::{EntityTrait as _, PaginatorTrait as _};
    Ok(Organization::find().count(conn).await? > 0
        || Venue::find().count(conn).await? > 0
        || Program::find().count(conn).await? > 0
        || Volunteer::find().count(conn).await? > 0)
}

/// Inserts rows in chunks small enough for every database's limit on bound parameters,
/// without reading them back.
pub async fn insert_all<A>(txn: &sea_orm::DatabaseTransaction, rows: Vec<A>) -> Result<()>
where
    A: sea_orm::ActiveModelTrait + Send,
{
    use sea_orm::EntityTrait as _;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(1000).collect();
        A::Entity::insert_many(chunk).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// Refreshes the planner's statistics of `tables` (`ANALYZE`, on either backend), after bulk
/// writes changed their size so much that plans made for the old one would be wrong.
pub async fn analyze(conn: &impl sea_orm::ConnectionTrait, tables: &[&str]) -> Result<()> {
    for table in tables {
        conn.execute_unprepared(&format!("ANALYZE {table}")).await?;
    }
    Ok(())
}

/// Copies a SQLite database to a new file at `target`, consistent as of one moment, while
/// other connections go on writing (`VACUUM INTO` reads in one transaction).
pub async fn copy_sqlite(conn: &impl sea_orm::ConnectionTrait, target: &str) -> Result<()> {
    conn.execute_raw(sea_orm::Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Sqlite,
        "VACUUM INTO ?",
        [target.into()],
    ))
    .await?;
    Ok(())
}

/// What every list of named records may be narrowed by: a name search (`q=`) and, for a
/// client that keeps a copy, the rows changed since its last look (`updated_since=`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    /// Text the name (or one of `names`) contains.
    pub text: Option<String>,
    /// Rows created or changed at or after this instant.
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
}

impl Search {
    /// Narrows `query` to rows whose `names` (any of them) contain the text and whose
    /// `updated_at` is recent enough.
    pub(crate) fn apply<E: sea_orm::EntityTrait>(
        &self,
        query: sea_orm::Select<E>,
        names: &[E::Column],
        updated_at: E::Column,
    ) -> sea_orm::Select<E> {
        use sea_orm::{ColumnTrait as _, QueryFilter as _};
        let mut query = query;
        if let Some(text) = &self.text {
            let any = names.iter().fold(sea_orm::Condition::any(), |any, column| {
                any.add(contains(*column, text))
            });
            query = query.filter(any);
        }
        if let Some(since) = self.updated_since {
            query = query.filter(updated_at.gte(since));
        }
        query
    }
}

/// Rows whose text `column` contains `text`: Latin letters in either case, and `%`, `_`
/// and the backslash as the characters they are.
fn contains(column: impl sea_orm::ColumnTrait, text: &str) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr};
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Func::lower(Expr::col(column)).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// Turns "no row" into a 404 naming the resource.
pub(crate) fn found<T>(row: Option<T>, what: &'static str) -> Result<T> {
    row.ok_or(Error::NotFound(what))
}
