//! The history of each session's time, place and status, written beside every change that
//! raises its iCalendar SEQUENCE.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::session;
use entity::session_change::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::error::Result;

/// Records the change from `before` to `after`, when time, place or status changed (or the
/// session was deleted or came back).
pub async fn record(
    txn: &DatabaseTransaction,
    before: &session::Model,
    after: &session::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    if after.sequence == before.sequence {
        return Ok(());
    }
    ActiveModel {
        session_id: Set(after.id),
        sequence: Set(after.sequence),
        changed_at: Set(now),
        old_all_day: Set(before.all_day),
        old_starts_at: Set(before.starts_at),
        old_ends_at: Set(before.ends_at),
        old_venue_id: Set(before.venue_id),
        old_status: Set(before.status),
        new_all_day: Set(after.all_day),
        new_starts_at: Set(after.starts_at),
        new_ends_at: Set(after.ends_at),
        new_venue_id: Set(after.venue_id),
        new_status: Set(after.status),
        deleted: Set(after.deleted_at.is_some() && before.deleted_at.is_none()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// A session's changes, oldest first.
pub async fn of_session(conn: &impl ConnectionTrait, session_id: i64) -> Result<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::SessionId.eq(session_id))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// The first change of each of `sessions` that moved it in time: where it was first
/// published, for "时间调整：09:00 → 10:30".
pub async fn first_moves(conn: &impl ConnectionTrait, sessions: &[i64]) -> Result<HashMap<i64, Model>> {
    let mut first = HashMap::new();
    for chunk in sessions.chunks(500) {
        let changes = Entity::find()
            .filter(Column::SessionId.is_in(chunk.iter().copied()))
            .order_by_asc(Column::Id)
            .all(conn)
            .await?;
        for change in changes {
            if change.old_starts_at != change.new_starts_at || change.old_ends_at != change.new_ends_at {
                first.entry(change.session_id).or_insert(change);
            }
        }
    }
    Ok(first)
}
