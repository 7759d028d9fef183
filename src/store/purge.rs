//! Removing the rows of deleted sessions. A deleted session keeps its row so calendar feeds
//! can report it gone; when its venue or activity is deleted in turn, the row goes too, with
//! its roles and webhook deliveries, so a deleted session does not hold anything back. A
//! deleted session that volunteers were assigned to is the exception: assignments are kept as
//! volunteers' history (checked-in ones count in service hours), so the delete that would lose
//! them is refused, and the refusal says so.

use entity::prelude::{Assignment, Delivery, Plan, Session, SessionRole};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter};

use crate::error::{Error, Result};

/// Whose deleted sessions.
#[derive(Clone, Copy, Debug)]
pub enum DeletedSessionsOf {
    /// Those at a venue.
    Venue(i64),
    /// Those of an activity.
    Activity(i64),
}

impl DeletedSessionsOf {
    /// `SELECT id FROM sessions WHERE <owner> AND deleted_at IS NOT NULL`.
    fn ids(self) -> SelectStatement {
        use entity::session::Column as S;
        let owner = match self {
            Self::Venue(id) => S::VenueId.eq(id),
            Self::Activity(id) => S::ActivityId.eq(id),
        };
        Query::select()
            .column(S::Id)
            .from(Session)
            .and_where(owner)
            .and_where(S::DeletedAt.is_not_null())
            .to_owned()
    }
}

/// Removes the deleted sessions of `of` with their roles and webhook deliveries, and unlinks
/// the preparation plans that made them. Refused (409 `in-use`) when volunteers were assigned
/// to any of them.
pub async fn deleted_sessions(txn: &DatabaseTransaction, of: DeletedSessionsOf) -> Result<()> {
    use entity::assignment::Column as A;
    let history = Assignment::find()
        .filter(A::SessionId.in_subquery(of.ids()))
        .count(txn)
        .await?;
    if history > 0 {
        return Err(Error::InUse(format!(
            "its deleted sessions keep {history} assignments as volunteers' history"
        )));
    }
    Delivery::delete_many()
        .filter(entity::delivery::Column::SessionId.in_subquery(of.ids()))
        .exec(txn)
        .await?;
    SessionRole::delete_many()
        .filter(entity::session_role::Column::SessionId.in_subquery(of.ids()))
        .exec(txn)
        .await?;
    Plan::update_many()
        .col_expr(entity::plan::Column::SessionId, Expr::value(Option::<i64>::None))
        .filter(entity::plan::Column::SessionId.in_subquery(of.ids()))
        .exec(txn)
        .await?;
    Session::delete_many()
        .filter(entity::session::Column::Id.in_subquery(of.ids()))
        .exec(txn)
        .await?;
    Ok(())
}
