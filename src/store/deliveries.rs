//! The outbox: deliveries enqueued with the change that causes them, claimed by dispatchers
//! under a lease, and withdrawn when a session's changes make them pointless.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery::{ActiveModel, Column, Entity, Model};
use entity::delivery_attempt::Model as Attempt;
use entity::kinds::DeliveryStatus;
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, Value,
};

use tokio::sync::Notify;

use super::dialect::sql;
use super::{Cursor, Page, PageRequest};
use crate::error::{Error, Result};

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

/// Wakes this process's dispatchers when work is enqueued. Rung before the enqueuing
/// transaction commits: on SQLite a woken dispatcher waits for the single writer and so sees
/// the rows; on PostgreSQL `NOTIFY` (delivered at commit) wakes every instance.
pub static OUTBOX: LazyLock<Notify> = LazyLock::new(Notify::new);

/// The PostgreSQL channel dispatchers listen on.
pub const CHANNEL: &str = "sciday_outbox";

fn row(new: NewDelivery, now: DateTime<Utc>) -> ActiveModel {
    ActiveModel {
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
        maybe_sent: Set(false),
        ..Default::default()
    }
}

/// A row with the same key is left alone, unless it was withdrawn: then it is wanted again
/// (a volunteer assigned anew, a subscription's offset restored) and becomes pending.
fn on_conflict() -> OnConflict {
    OnConflict::columns([Column::WebhookId, Column::DedupeKey])
        .update_columns([
            Column::Status,
            Column::DueAt,
            Column::Deadline,
            Column::NextAttemptAt,
            Column::Attempts,
            Column::LastError,
            Column::UpdatedAt,
        ])
        .action_and_where(Expr::col((Entity, Column::Status)).eq(DeliveryStatus::Withdrawn))
        .to_owned()
}

/// Enqueues deliveries; a key already enqueued for the subscription is not enqueued again.
/// Says how many rows were added or brought back.
pub async fn enqueue_all(txn: &DatabaseTransaction, new: Vec<NewDelivery>, now: DateTime<Utc>) -> Result<u64> {
    let mut added = 0;
    let mut rows = new.into_iter().map(|new| row(new, now)).peekable();
    while rows.peek().is_some() {
        let chunk: Vec<ActiveModel> = rows.by_ref().take(500).collect();
        added += Entity::insert_many(chunk)
            .on_conflict(on_conflict())
            .exec_without_returning(txn)
            .await?;
    }
    if added > 0 {
        ring(txn).await?;
    }
    Ok(added)
}

/// Enqueues one delivery unless one with its key exists; says whether it was added.
pub async fn enqueue(txn: &DatabaseTransaction, new: NewDelivery, now: DateTime<Utc>) -> Result<bool> {
    Ok(enqueue_all(txn, vec![new], now).await? > 0)
}

/// Inserts a delivery already claimed by `worker` until `lease_until`: a message sent at
/// once (a subscription's test), recorded like any other.
pub async fn insert_claimed(
    txn: &DatabaseTransaction,
    new: NewDelivery,
    now: DateTime<Utc>,
    worker: &str,
    lease_until: DateTime<Utc>,
) -> Result<Model> {
    let mut claimed = row(new, now);
    claimed.status = Set(DeliveryStatus::Sending);
    claimed.lease_until = Set(Some(lease_until));
    claimed.leased_by = Set(Some(worker.to_owned()));
    Ok(sea_orm::ActiveModelTrait::insert(claimed, txn).await?)
}

/// Tells dispatchers that work arrived: this process's at once, other instances' (on
/// PostgreSQL) when the transaction commits.
async fn ring(txn: &DatabaseTransaction) -> Result<()> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT pg_notify('{CHANNEL}', '')"),
        ))
        .await?;
    }
    OUTBOX.notify_waiters();
    Ok(())
}

/// Withdraws a session's pending deliveries of `event_type` (its reminders, when it moves or
/// is cancelled); returns how many.
pub async fn withdraw_pending(
    txn: &DatabaseTransaction,
    session_id: i64,
    event_type: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    let which = sea_orm::Condition::all().add(Column::SessionId.eq(session_id));
    withdraw_pending_where(txn, event_type, which, now).await
}

/// Withdraws the pending deliveries of `event_type` that also meet `which` (a session's, a
/// subscription's, those of subscriptions that no longer cover a session); returns how many.
pub async fn withdraw_pending_where(
    txn: &DatabaseTransaction,
    event_type: &str,
    which: sea_orm::Condition,
    now: DateTime<Utc>,
) -> Result<u64> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Withdrawn))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::EventType.eq(event_type))
        .filter(Column::Status.eq(DeliveryStatus::Pending))
        .filter(which)
        .exec(txn)
        .await?;
    Ok(result.rows_affected)
}

/// What a takeover found: claims whose dispatcher stopped renewing them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TakenOver {
    /// Deliveries due again (same `webhook-id`) because their deadline still allows.
    pub resent: Vec<i64>,
    /// Deliveries whose deadline has passed: `in_doubt`, never sent again.
    pub settled: Vec<i64>,
    /// Each of them, for the log.
    pub rows: Vec<Taken>,
}

/// A delivery taken over, as its outcome is logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taken {
    /// Its subscription.
    pub webhook_id: i64,
    /// The subscription's platform.
    pub format: entity::kinds::WebhookFormat,
    /// `session.reminder`, ….
    pub event_type: String,
    /// When it fell due.
    pub due_at: DateTime<Utc>,
    /// Attempts, the one in doubt included.
    pub attempts: i32,
    /// Due again (its deadline allows), or settled `in_doubt`.
    pub resent: bool,
}

#[derive(FromQueryResult)]
struct Dead {
    id: i64,
    webhook_id: i64,
    format: entity::kinds::WebhookFormat,
    event_type: String,
    due_at: DateTime<Utc>,
    attempts: i32,
    deadline: Option<DateTime<Utc>>,
    leased_by: Option<String>,
    updated_at: DateTime<Utc>,
}

/// Takes over up to `limit` claims whose lease ran out without renewal: their dispatcher died
/// (or stopped) with the messages in flight, so each may have arrived. Each gets an attempt
/// recorded as `in_doubt`; it is due again at once if its deadline still allows (the repeat
/// carries the same `webhook-id`, so Standard Webhooks receivers drop it) and is otherwise
/// settled `in_doubt`, never `expired`. On PostgreSQL concurrent dispatchers skip each
/// other's rows.
pub async fn take_over(txn: &DatabaseTransaction, now: DateTime<Utc>, limit: u64) -> Result<TakenOver> {
    use entity::delivery_attempt::ActiveModel as AttemptRow;
    use entity::kinds::AttemptOutcome;
    let backend = txn.get_database_backend();
    let lock = claim_lock(backend);
    let text = format!(
        "SELECT id, webhook_id, event_type, due_at, attempts, deadline, leased_by, updated_at, \
         (SELECT w.format FROM webhooks w WHERE w.id = deliveries.webhook_id) AS format FROM deliveries \
         WHERE status = 'sending' AND lease_until < $1 ORDER BY id LIMIT $2{lock}"
    );
    let statement = Statement::from_sql_and_values(
        backend,
        sql(&text, backend),
        [Value::from(now), Value::from(i64::try_from(limit).unwrap_or(i64::MAX))],
    );
    let dead = txn
        .query_all_raw(statement)
        .await?
        .iter()
        .map(|row| Dead::from_query_result(row, ""))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut taken = TakenOver::default();
    let mut attempts = Vec::with_capacity(dead.len());
    for row in &dead {
        let resend = row.deadline.is_none_or(|deadline| deadline > now);
        let who = row.leased_by.as_deref().unwrap_or("another dispatcher");
        let error = if resend {
            format!(
                "in doubt: {who} sent it and stopped before recording the answer; sent again with the same webhook-id"
            )
        } else {
            format!("in doubt: {who} sent it and stopped before recording the answer; its deadline has passed")
        };
        if resend {
            taken.resent.push(row.id);
        } else {
            taken.settled.push(row.id);
        }
        taken.rows.push(Taken {
            webhook_id: row.webhook_id,
            format: row.format,
            event_type: row.event_type.clone(),
            due_at: row.due_at,
            attempts: row.attempts + 1,
            resent: resend,
        });
        attempts.push(AttemptRow {
            delivery_id: Set(row.id),
            webhook_id: Set(row.webhook_id),
            attempted_at: Set(row.updated_at),
            duration_ms: Set(0),
            http_status: Set(None),
            error_code: Set(None),
            error_message: Set(Some(error)),
            response_body: Set(None),
            outcome: Set(AttemptOutcome::InDoubt),
            next_attempt_at: Set(resend.then_some(now)),
            ..Default::default()
        });
    }
    for (ids, status) in [
        (&taken.resent, DeliveryStatus::Pending),
        (&taken.settled, DeliveryStatus::InDoubt),
    ] {
        for chunk in ids.chunks(500) {
            Entity::update_many()
                .col_expr(Column::Status, Expr::value(status))
                .col_expr(Column::NextAttemptAt, Expr::value(now))
                .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(Column::LeasedBy, Expr::value(Option::<String>::None))
                .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
                .col_expr(Column::MaybeSent, Expr::value(true))
                .col_expr(
                    Column::LastError,
                    Expr::value("in doubt: its dispatcher stopped before recording the answer"),
                )
                .col_expr(Column::UpdatedAt, Expr::value(now))
                .filter(Column::Id.is_in(chunk.iter().copied()))
                .exec(txn)
                .await?;
        }
    }
    log_attempts(txn, attempts).await?;
    Ok(taken)
}

/// How a claim or a takeover locks the rows it picks: on PostgreSQL, concurrent dispatchers
/// skip each other's rows. `NO KEY UPDATE` (the lock an `UPDATE` takes anyway), not `UPDATE`:
/// a row another dispatcher claimed and committed meanwhile is still locked when the recheck
/// drops it, until the claiming transaction ends, and a `FOR UPDATE` lock there blocks the
/// foreign-key check of that dispatcher recording its attempt, while the claim goes on to wait
/// for the subscription row that check holds: a deadlock, and a round sent but not recorded.
fn claim_lock(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => " FOR NO KEY UPDATE SKIP LOCKED",
        _ => "",
    }
}

/// Claims up to `limit` pending deliveries that are due for `worker` until `now + lease`. On
/// PostgreSQL concurrent dispatchers skip each other's rows ([`claim_lock`]); SQLite
/// has one writer. Commit at once: sending happens outside any transaction, under the lease,
/// which the dispatcher renews while it sends ([`renew`]).
pub async fn claim_due(
    conn: &DatabaseTransaction,
    now: DateTime<Utc>,
    lease: TimeDelta,
    worker: &str,
    limit: u64,
) -> Result<Vec<Model>> {
    let backend = conn.get_database_backend();
    let lock = claim_lock(backend);
    let text = format!(
        "UPDATE deliveries SET status = 'sending', lease_until = $2, leased_by = $3, updated_at = $1 \
         WHERE id IN (SELECT id FROM deliveries \
           WHERE status = 'pending' AND next_attempt_at <= $1 \
           ORDER BY next_attempt_at, session_id, id LIMIT $4{lock}) \
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

/// Extends the leases `worker` holds to `until`: its heartbeat while it sends.
pub async fn renew(conn: &impl ConnectionTrait, worker: &str, until: DateTime<Utc>) -> Result<u64> {
    let result = Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(until))
        .filter(Column::Status.eq(DeliveryStatus::Sending))
        .filter(Column::LeasedBy.eq(worker))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Ends the leases a previous life of `worker` held (it was killed while sending), so that
/// they are taken over at once rather than when they run out.
pub async fn expire_leases_of(conn: &impl ConnectionTrait, worker: &str, now: DateTime<Utc>) -> Result<u64> {
    let result = Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(now - TimeDelta::milliseconds(1)))
        .filter(Column::Status.eq(DeliveryStatus::Sending))
        .filter(Column::LeasedBy.eq(worker))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// What a dispatcher sleeps until: the next pending delivery's time, and the first lease to
/// run out (its claim is taken over then).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NextDue {
    /// When the next pending delivery falls due.
    pub pending: Option<DateTime<Utc>>,
    /// When the first claim's lease runs out.
    pub lease_end: Option<DateTime<Utc>>,
}

/// When the next delivery falls due and the first lease runs out.
pub async fn next_due(conn: &impl ConnectionTrait) -> Result<NextDue> {
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
    Ok(NextDue {
        pending: pending.flatten(),
        lease_end: leased.flatten(),
    })
}

/// How many messages wait in the outbox for one platform in one state.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct Depth {
    /// `pending` or `sending`.
    pub status: DeliveryStatus,
    /// The platform of their subscription.
    pub format: entity::kinds::WebhookFormat,
    /// How many.
    pub messages: i64,
    /// How many of the pending ones are due at `now`: the backlog.
    pub due: i64,
}

/// The outbox's depth by state and platform, in one grouped count over the unsettled rows
/// (which the status index finds without reading the delivery log).
pub async fn depth(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Vec<Depth>> {
    const DEPTH: &str = "\
SELECT d.status AS status, w.format AS format, COUNT(*) AS messages, \
       COALESCE(SUM(CASE WHEN d.status = 'pending' AND d.next_attempt_at <= $1 THEN 1 ELSE 0 END), 0) AS due \
FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
WHERE d.status IN ('pending', 'sending') \
GROUP BY d.status, w.format";
    let backend = conn.get_database_backend();
    let statement = Statement::from_sql_and_values(backend, sql(DEPTH, backend), [Value::from(now)]);
    Ok(conn
        .query_all_raw(statement)
        .await?
        .iter()
        .map(|row| Depth::from_query_result(row, ""))
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

/// Claimed rows that `worker` still holds, among `ids`.
fn held(ids: &[i64], worker: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Column::Id.is_in(ids.iter().copied()))
        .add(Column::Status.eq(DeliveryStatus::Sending))
        .add(Column::LeasedBy.eq(worker))
}

/// Puts claimed rows back to wait until `at` (a robot's rate limit) without counting an attempt.
pub async fn defer(
    txn: &DatabaseTransaction,
    ids: &[i64],
    worker: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in ids.chunks(500) {
        Entity::update_many()
            .col_expr(Column::Status, Expr::value(DeliveryStatus::Pending))
            .col_expr(Column::NextAttemptAt, Expr::value(at))
            .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(Column::LeasedBy, Expr::value(Option::<String>::None))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(held(chunk, worker))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// How a claimed row ends or goes on after its attempt (or without one).
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    /// Its new status: `delivered`, `pending` (another attempt), `failed`, `expired` or
    /// `withdrawn`.
    pub status: DeliveryStatus,
    /// When the next attempt is due, for `pending`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Whether an attempt was made.
    pub attempted: bool,
    /// What went wrong, for the log.
    pub error: Option<String>,
    /// The attempt's outcome is unknown (no answer came in time): it may have arrived.
    pub maybe_sent: bool,
}

/// Settles claimed rows that `worker` still holds (a row whose lease ran out and that another
/// dispatcher took over is left to it).
pub async fn settle(
    txn: &DatabaseTransaction,
    ids: &[i64],
    worker: &str,
    settled: &Settled,
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in ids.chunks(500) {
        let mut update = Entity::update_many()
            .col_expr(Column::Status, Expr::value(settled.status))
            .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(Column::LeasedBy, Expr::value(Option::<String>::None))
            .col_expr(Column::LastError, Expr::value(settled.error.clone()))
            .col_expr(Column::UpdatedAt, Expr::value(now));
        if settled.attempted {
            update = update.col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1));
        }
        if let Some(at) = settled.next_attempt_at {
            update = update.col_expr(Column::NextAttemptAt, Expr::value(at));
        }
        if settled.status == DeliveryStatus::Delivered {
            update = update.col_expr(Column::DeliveredAt, Expr::value(now));
        }
        if settled.maybe_sent {
            update = update.col_expr(Column::MaybeSent, Expr::value(true));
        }
        update.filter(held(chunk, worker)).exec(txn).await?;
    }
    Ok(())
}

/// Frees the rows `worker` still holds, due again at once: a dispatcher stopping.
pub async fn release(conn: &impl ConnectionTrait, worker: &str, now: DateTime<Utc>) -> Result<u64> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Pending))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::LeasedBy, Expr::value(Option::<String>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Status.eq(DeliveryStatus::Sending))
        .filter(Column::LeasedBy.eq(worker))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// The statuses a delivery ends in; the log keeps them until retention removes them.
const SETTLED: [DeliveryStatus; 5] = [
    DeliveryStatus::Delivered,
    DeliveryStatus::Failed,
    DeliveryStatus::Expired,
    DeliveryStatus::Withdrawn,
    DeliveryStatus::InDoubt,
];

/// Removes up to `limit` deliveries that settled before `before`, with their attempts, oldest
/// first; returns how many. Rows are locked first, so a resend racing with the pruning either
/// comes before it (and keeps its row) or finds the row gone.
pub async fn prune(txn: &DatabaseTransaction, before: DateTime<Utc>, limit: u64) -> Result<u64> {
    use entity::delivery_attempt::{Column as AttemptColumn, Entity as Attempts};
    let ids: Vec<i64> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.is_in(SETTLED))
        .filter(Column::UpdatedAt.lt(before))
        .order_by_asc(Column::Id)
        .limit(limit)
        .lock_exclusive()
        .into_tuple()
        .all(txn)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    Attempts::delete_many()
        .filter(AttemptColumn::DeliveryId.is_in(ids.iter().copied()))
        .exec(txn)
        .await?;
    let result = Entity::delete_many().filter(Column::Id.is_in(ids)).exec(txn).await?;
    Ok(result.rows_affected)
}

/// Which of these deliveries still exist.
pub async fn existing(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
    let mut found = std::collections::HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<i64> = Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Writes attempts to the delivery log.
pub async fn log_attempts(
    txn: &DatabaseTransaction,
    attempts: Vec<entity::delivery_attempt::ActiveModel>,
) -> Result<()> {
    let mut attempts = attempts.into_iter().peekable();
    while attempts.peek().is_some() {
        let chunk: Vec<_> = attempts.by_ref().take(500).collect();
        entity::delivery_attempt::Entity::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// One delivery of a subscription.
pub async fn get(conn: &impl ConnectionTrait, webhook_id: i64, id: i64) -> Result<Model> {
    Entity::find_by_id(id)
        .filter(Column::WebhookId.eq(webhook_id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("delivery"))
}

/// A page of a subscription's deliveries, newest first; `status` narrows it.
pub async fn list(
    conn: &impl ConnectionTrait,
    webhook_id: i64,
    status: Option<DeliveryStatus>,
    search: &super::Search,
    page: &PageRequest,
) -> Result<Page<Model>> {
    let query = Entity::find()
        .filter(Column::WebhookId.eq(webhook_id))
        .order_by_desc(Column::Id)
        .limit(page.limit + 1);
    let mut query = search.apply(query, &[], Column::UpdatedAt);
    if let Some(status) = status {
        query = query.filter(Column::Status.eq(status));
    }
    if let Some(Cursor::Id(before)) = page.after {
        query = query.filter(Column::Id.lt(before));
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// The attempts at these deliveries, oldest first, by delivery.
pub async fn attempts(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, Vec<Attempt>>> {
    let mut found: HashMap<i64, Vec<Attempt>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = entity::delivery_attempt::Entity::find()
            .filter(entity::delivery_attempt::Column::DeliveryId.is_in(chunk.iter().copied()))
            .order_by_asc(entity::delivery_attempt::Column::Id)
            .all(conn)
            .await?;
        for row in rows {
            found.entry(row.delivery_id).or_default().push(row);
        }
    }
    Ok(found)
}

/// Sends a delivery again, now, with the same `webhook-id`: one that was delivered, failed or
/// expired gets a fresh set of attempts; a pending one is brought forward. A reminder is
/// never sent after its session started, and a withdrawn message (its session moved or was
/// cancelled) or one being sent right now is left alone.
pub async fn resend(txn: &DatabaseTransaction, webhook_id: i64, id: i64, now: DateTime<Utc>) -> Result<Model> {
    let current = Entity::find_by_id(id)
        .filter(Column::WebhookId.eq(webhook_id))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(Error::NotFound("delivery"))?;
    match current.status {
        DeliveryStatus::Sending => {
            return Err(Error::conflict("in_flight", "the message is being sent right now"));
        }
        DeliveryStatus::Withdrawn => {
            return Err(Error::conflict(
                "withdrawn",
                "the message was withdrawn because its session moved or was cancelled",
            ));
        }
        _ => {}
    }
    if current.deadline.is_some_and(|deadline| deadline <= now) {
        return Err(Error::conflict(
            "deadline_passed",
            "a reminder is never sent after its session has started",
        ));
    }
    let fresh = current.status != DeliveryStatus::Pending;
    let mut row: ActiveModel = current.into();
    row.status = Set(DeliveryStatus::Pending);
    row.next_attempt_at = Set(now);
    if fresh {
        row.attempts = Set(0);
        row.delivered_at = Set(None);
        row.last_error = Set(None);
    }
    row.updated_at = Set(now);
    let model = sea_orm::ActiveModelTrait::update(row, txn).await?;
    ring(txn).await?;
    Ok(model)
}
