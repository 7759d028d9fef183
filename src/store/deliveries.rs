//! The outbox: deliveries enqueued with the change that causes them, claimed by dispatchers
//! under a lease, and withdrawn when a session's changes make them pointless.

use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery::{ActiveModel, Column, Entity, Model};
use entity::kinds::DeliveryStatus;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, Set, Statement, Value,
};

use super::dialect::sql;
use crate::error::Result;

/// A message to enqueue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDelivery {
    /// The subscription.
    pub webhook_id: i64,
    /// `session.reminder`, `session.cancelled`, ….
    pub event_type: String,
    /// The session it is about.
    pub session_id: Option<i64>,
    /// The assignment it is about.
    pub assignment_id: Option<i64>,
    /// Unique per subscription ([`crate::domain::reminder::reminder_key`] and friends).
    pub dedupe_key: String,
    /// What a change notice says beyond the current state (what it was before).
    pub payload: Option<serde_json::Value>,
    /// When it should go.
    pub due_at: DateTime<Utc>,
    /// Past this it is never sent.
    pub deadline: Option<DateTime<Utc>>,
}

/// Enqueues a delivery unless one with its key exists; says whether it was added.
pub async fn enqueue(txn: &DatabaseTransaction, new: NewDelivery, now: DateTime<Utc>) -> Result<bool> {
    let row = ActiveModel {
        webhook_id: Set(new.webhook_id),
        event_type: Set(new.event_type),
        session_id: Set(new.session_id),
        assignment_id: Set(new.assignment_id),
        dedupe_key: Set(new.dedupe_key),
        payload: Set(new.payload),
        due_at: Set(new.due_at),
        deadline: Set(new.deadline),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(new.due_at),
        lease_until: Set(None),
        leased_by: Set(None),
        delivered_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let inserted = Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::WebhookId, Column::DedupeKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(inserted > 0)
}

/// Withdraws a session's pending deliveries of `event_type` (its reminders, when it moves or
/// is cancelled); returns how many.
pub async fn withdraw_pending(
    txn: &DatabaseTransaction,
    session_id: i64,
    event_type: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Withdrawn))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::SessionId.eq(session_id))
        .filter(Column::EventType.eq(event_type))
        .filter(Column::Status.eq(DeliveryStatus::Pending))
        .exec(txn)
        .await?;
    Ok(result.rows_affected)
}

/// Claims up to `limit` deliveries that are due (or whose dispatcher's lease ran out) for
/// `worker` until `now + lease`. On PostgreSQL concurrent dispatchers skip each other's rows
/// (`FOR UPDATE SKIP LOCKED`); SQLite has one writer. Commit at once: sending happens outside
/// any transaction, under the lease.
pub async fn claim_due(
    conn: &DatabaseTransaction,
    now: DateTime<Utc>,
    lease: TimeDelta,
    worker: &str,
    limit: u64,
) -> Result<Vec<Model>> {
    let backend = conn.get_database_backend();
    let lock = match backend {
        DatabaseBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let text = format!(
        "UPDATE deliveries SET status = 'sending', lease_until = $2, leased_by = $3, updated_at = $1 \
         WHERE id IN (SELECT id FROM deliveries \
           WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until < $1) \
           ORDER BY next_attempt_at, id LIMIT $4{lock}) \
         RETURNING *"
    );
    let statement = Statement::from_sql_and_values(
        backend,
        sql(&text, backend),
        [
            Value::from(now),
            Value::from(now + lease),
            Value::from(worker),
            Value::from(i64::try_from(limit).unwrap_or(i64::MAX)),
        ],
    );
    let rows = conn.query_all_raw(statement).await?;
    let mut claimed = rows
        .iter()
        .map(|row| Model::from_query_result(row, ""))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|d| (d.next_attempt_at, d.id));
    Ok(claimed)
}

/// When the next delivery falls due (or a lease runs out), for a dispatcher to sleep until.
pub async fn next_due(conn: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>> {
    let pending: Option<Option<DateTime<Utc>>> = Entity::find()
        .select_only()
        .column_as(Column::NextAttemptAt.min(), "at")
        .filter(Column::Status.eq(DeliveryStatus::Pending))
        .into_tuple()
        .one(conn)
        .await?;
    let leased: Option<Option<DateTime<Utc>>> = Entity::find()
        .select_only()
        .column_as(Column::LeaseUntil.min(), "at")
        .filter(Column::Status.eq(DeliveryStatus::Sending))
        .into_tuple()
        .one(conn)
        .await?;
    Ok([pending.flatten(), leased.flatten()].into_iter().flatten().min())
}
