//! What a session's changes put in the outbox, in the transaction that makes them: reminders
//! for the subscriptions that cover it, withdrawn and made anew when it moves, and a notice
//! when it moves or is called off.

use chrono::{DateTime, Utc};
use entity::delivery::Column as DeliveryColumn;
use entity::kinds::{SessionStatus, WebhookScope};
use entity::session::Model as Session;
use entity::webhook::Model as Webhook;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, QueryTrait, Statement, Value,
};
use serde_json::json;

use super::deliveries::{self, NewDelivery};
use super::dialect::sql;
use super::webhooks::offsets_of;
use crate::domain::reminder;
use crate::error::Result;

/// Enabled subscriptions of one scope kind that cover the session `$1`: its program, activity
/// or venue; an organization at or above its organizer; a volunteer assigned to it, or a team
/// (or a team above) one of whose members is. Each is one indexed lookup of
/// `(scope_kind, scope_id)`.
fn covering_branch(kind: WebhookScope) -> &'static str {
    match kind {
        WebhookScope::Program => {
            "SELECT w.* FROM webhooks w WHERE w.scope_kind = 'program' AND w.enabled = TRUE \
             AND w.scope_id IN (SELECT s.program_id FROM sessions s WHERE s.id = $1)"
        }
        WebhookScope::Activity => {
            "SELECT w.* FROM webhooks w WHERE w.scope_kind = 'activity' AND w.enabled = TRUE \
             AND w.scope_id IN (SELECT s.activity_id FROM sessions s WHERE s.id = $1)"
        }
        WebhookScope::Venue => {
            "SELECT w.* FROM webhooks w WHERE w.scope_kind = 'venue' AND w.enabled = TRUE \
             AND w.scope_id IN (SELECT s.venue_id FROM sessions s WHERE s.id = $1)"
        }
        WebhookScope::Organization => {
            "SELECT w.* FROM webhooks w WHERE w.scope_kind = 'organization' AND w.enabled = TRUE \
             AND w.scope_id IN (SELECT so.id FROM organizations so, sessions s \
               JOIN activities a ON a.id = s.activity_id JOIN organizations o ON o.id = a.organization_id \
               WHERE s.id = $1 AND o.path LIKE so.path || '%')"
        }
        WebhookScope::Volunteer => {
            "SELECT w.* FROM webhooks w WHERE w.scope_kind = 'volunteer' AND w.enabled = TRUE \
             AND w.scope_id IN (SELECT g.volunteer_id FROM assignments g WHERE g.session_id = $1 AND g.status IN (ACTIVE))"
        }
        WebhookScope::Team => {
            "SELECT w.* FROM webhooks w WHERE w.scope_kind = 'team' AND w.enabled = TRUE \
             AND w.scope_id IN (SELECT st.id FROM assignments g \
               JOIN team_memberships m ON m.volunteer_id = g.volunteer_id JOIN teams t ON t.id = m.team_id, teams st \
               WHERE g.session_id = $1 AND g.status IN (ACTIVE) AND t.path LIKE st.path || '%')"
        }
    }
}

/// The scope kinds of the enabled subscriptions there are: only their branches of the
/// covering lookup run (and are planned), so a change costs nothing for kinds nobody uses.
async fn kinds_in_use(conn: &impl ConnectionTrait) -> Result<Vec<WebhookScope>> {
    use sea_orm::{QueryFilter as _, QuerySelect as _};
    Ok(entity::webhook::Entity::find()
        .select_only()
        .column(entity::webhook::Column::ScopeKind)
        .distinct()
        .filter(entity::webhook::Column::Enabled.eq(true))
        .into_tuple()
        .all(conn)
        .await?)
}

/// The enabled subscriptions that cover a session, in id order.
pub async fn covering(conn: &impl ConnectionTrait, session_id: i64) -> Result<Vec<Webhook>> {
    let mut kinds = kinds_in_use(conn).await?;
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    kinds.sort_by_key(|k| *k as u8);
    let text = kinds
        .into_iter()
        .map(covering_branch)
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
        + " ORDER BY id";
    let backend = conn.get_database_backend();
    let statement = Statement::from_sql_and_values(backend, sql(&text, backend), [Value::from(session_id)]);
    let rows = conn.query_all_raw(statement).await?;
    Ok(rows
        .iter()
        .map(|row| Webhook::from_query_result(row, ""))
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

/// The event type of reminders.
pub const REMINDER: &str = "session.reminder";

pub(super) fn wants(webhook: &Webhook, event: &str) -> bool {
    webhook
        .events
        .as_array()
        .is_some_and(|events| events.iter().any(|e| e.as_str() == Some(event)))
}

fn is_on(session: &Session) -> bool {
    session.status == SessionStatus::Scheduled && session.deleted_at.is_none()
}

/// Enqueues the reminders of a session that is on, for every covering subscription that
/// wants them; reminders whose time has passed are not made (a reminder is never late).
pub async fn schedule(txn: &DatabaseTransaction, session: &Session, now: DateTime<Utc>) -> Result<()> {
    if !is_on(session) {
        return Ok(());
    }
    let covering = covering(txn, session.id).await?;
    deliveries::enqueue_all(txn, session_reminders(&covering, session, now), now).await?;
    Ok(())
}

/// The reminders of a session for every subscription in `covering` that wants them.
fn session_reminders(covering: &[Webhook], session: &Session, now: DateTime<Utc>) -> Vec<NewDelivery> {
    covering
        .iter()
        .filter(|w| wants(w, REMINDER))
        .flat_map(|w| reminders_of(w, session.id, session.starts_at, session.sequence, now))
        .collect()
}

/// The reminders a subscription wants for a session starting at `starts_at`, leaving out
/// those whose time has passed.
fn reminders_of(
    webhook: &Webhook,
    session_id: i64,
    starts_at: DateTime<Utc>,
    sequence: i32,
    now: DateTime<Utc>,
) -> Vec<NewDelivery> {
    offsets_of(webhook)
        .into_iter()
        .filter(|offset| reminder::due_at(starts_at, *offset) > now)
        .map(|offset| reminder(webhook.id, session_id, starts_at, sequence, offset))
        .collect()
}

/// The reminder to subscription `webhook_id` that session `session_id` (at its `sequence`)
/// starts at `starts_at`, due `offset` before.
pub fn reminder(
    webhook_id: i64,
    session_id: i64,
    starts_at: DateTime<Utc>,
    sequence: i32,
    offset: chrono::TimeDelta,
) -> NewDelivery {
    NewDelivery {
        webhook_id,
        event_type: REMINDER.to_owned(),
        session_id: Some(session_id),
        assignment_id: None,
        dedupe_key: reminder::reminder_key(session_id, offset, sequence),
        payload: Some(json!({"offset_seconds": offset.num_seconds()})),
        due_at: reminder::due_at(starts_at, offset),
        deadline: Some(starts_at),
    }
}

/// What a session's change puts in the outbox: when it was called off (or deleted), its
/// reminders are withdrawn and a cancellation notice goes out; when it moved in time or
/// place, its reminders are withdrawn and made anew, and a notice says what it was before.
pub async fn changed(txn: &DatabaseTransaction, before: &Session, after: &Session, now: DateTime<Utc>) -> Result<()> {
    let cancelled = is_on(before) && !is_on(after);
    let moved = is_on(after)
        && (before.starts_at != after.starts_at
            || before.ends_at != after.ends_at
            || before.venue_id != after.venue_id);
    let revived = !is_on(before) && is_on(after);
    if !(cancelled || moved || revived) {
        return Ok(());
    }
    deliveries::withdraw_pending(txn, after.id, REMINDER, now).await?;
    let event = if cancelled {
        "session.cancelled"
    } else {
        "session.rescheduled"
    };
    let covering = covering(txn, after.id).await?;
    let mut owed = Vec::new();
    for webhook in &covering {
        if (cancelled || moved) && wants(webhook, event) {
            owed.push(NewDelivery {
                webhook_id: webhook.id,
                event_type: event.to_owned(),
                session_id: Some(after.id),
                assignment_id: None,
                dedupe_key: reminder::notice_key(event, after.id, after.sequence),
                payload: Some(json!({"was": {
                    "starts_at": before.starts_at, "ends_at": before.ends_at, "venue_id": before.venue_id,
                }})),
                due_at: now,
                deadline: None,
            });
        }
    }
    if is_on(after) {
        owed.extend(session_reminders(&covering, after, now));
    }
    deliveries::enqueue_all(txn, owed, now).await?;
    Ok(())
}

/// Brings a session's reminders in line with who covers it now (an assignment made or ended
/// changes which volunteer and team subscriptions do): those of subscriptions that no longer
/// cover it are withdrawn, those of subscriptions that do are made.
pub async fn sync(txn: &DatabaseTransaction, session: &Session, now: DateTime<Utc>) -> Result<()> {
    let covering = if is_on(session) {
        covering(txn, session.id).await?
    } else {
        Vec::new()
    };
    let owed = sync_with(txn, session, &covering, now).await?;
    deliveries::enqueue_all(txn, owed, now).await?;
    Ok(())
}

/// Withdraws the session's pending reminders of subscriptions not in `covering`, and returns
/// the reminders those in it are owed.
async fn sync_with(
    txn: &DatabaseTransaction,
    session: &Session,
    covering: &[Webhook],
    now: DateTime<Utc>,
) -> Result<Vec<NewDelivery>> {
    let keep: Vec<i64> = covering.iter().map(|w| w.id).collect();
    let gone = Condition::all()
        .add(DeliveryColumn::SessionId.eq(session.id))
        .add(DeliveryColumn::WebhookId.is_not_in(keep));
    deliveries::withdraw_pending_where(txn, REMINDER, gone, now).await?;
    Ok(if is_on(session) {
        session_reminders(covering, session, now)
    } else {
        Vec::new()
    })
}

/// The notices of an assignment event for the subscriptions in `covering` that want it.
fn assignment_notices(
    covering: &[Webhook],
    event: &str,
    assignment: &entity::assignment::Model,
    version: i32,
    now: DateTime<Utc>,
) -> Vec<NewDelivery> {
    covering
        .iter()
        .filter(|w| wants(w, event))
        .map(|w| NewDelivery {
            webhook_id: w.id,
            event_type: event.to_owned(),
            session_id: Some(assignment.session_id),
            assignment_id: Some(assignment.id),
            dedupe_key: reminder::notice_key(event, assignment.id, version),
            payload: None,
            due_at: now,
            deadline: None,
        })
        .collect()
}

/// Enqueues a notice about an assignment ending (`assignment.cancelled`, `.declined`) for
/// every subscription covering its session that wants it. Call it before the assignment ends,
/// while it still counts for the volunteer's own subscriptions.
pub async fn assignment_notice(
    txn: &DatabaseTransaction,
    event: &str,
    assignment: &entity::assignment::Model,
    version: i32,
    now: DateTime<Utc>,
) -> Result<()> {
    let covering = covering(txn, assignment.session_id).await?;
    let notices = assignment_notices(&covering, event, assignment, version, now);
    deliveries::enqueue_all(txn, notices, now).await?;
    Ok(())
}

/// What a new assignment puts in the outbox, with one look at who covers its session: the
/// `assignment.created` notice, and the session's reminders for the volunteer's own (and their
/// teams') subscriptions. A new assignment only widens who covers the session, so nothing is
/// withdrawn; reminders already enqueued are not enqueued again.
pub async fn assigned(
    txn: &DatabaseTransaction,
    assignment: &entity::assignment::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    let covering = covering(txn, assignment.session_id).await?;
    if covering.is_empty() {
        return Ok(());
    }
    let Some(session) = entity::session::Entity::find_by_id(assignment.session_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let session = &session;
    let mut owed = assignment_notices(&covering, "assignment.created", assignment, assignment.version, now);
    if is_on(session) {
        owed.extend(session_reminders(&covering, session, now));
    }
    deliveries::enqueue_all(txn, owed, now).await?;
    Ok(())
}

/// A volunteer's teams changed: the sessions still to start that they serve at are covered
/// by other team subscriptions now, so their reminders are brought in line.
pub async fn teams_changed(txn: &DatabaseTransaction, volunteer_id: i64, now: DateTime<Utc>) -> Result<()> {
    if !kinds_in_use(txn).await?.contains(&WebhookScope::Team) {
        return Ok(());
    }
    let serving = entity::assignment::Entity::find()
        .select_only()
        .column(entity::assignment::Column::SessionId)
        .filter(entity::assignment::Column::VolunteerId.eq(volunteer_id))
        .filter(entity::assignment::Column::Status.is_in(entity::kinds::AssignmentStatus::ACTIVE))
        .into_query();
    let sessions = entity::session::Entity::find()
        .filter(entity::session::Column::Id.in_subquery(serving))
        .filter(entity::session::Column::StartsAt.gt(now))
        .all(txn)
        .await?;
    for session in sessions {
        sync(txn, &session, now).await?;
    }
    Ok(())
}

/// Sessions a subscription covers that are on and still to start: `(id, starts_at, sequence)`.
const COVERED: &str = "\
SELECT s.id, s.starts_at, s.sequence FROM sessions s \
WHERE s.status = 'scheduled' AND s.deleted_at IS NULL AND s.starts_at > $2 AND SCOPE ORDER BY s.id";

fn covered_by(kind: WebhookScope) -> &'static str {
    match kind {
        WebhookScope::Program => "s.program_id = $1",
        WebhookScope::Activity => "s.activity_id = $1",
        WebhookScope::Venue => "s.venue_id = $1",
        WebhookScope::Organization => {
            "s.activity_id IN (SELECT a.id FROM activities a JOIN organizations o ON o.id = a.organization_id \
             WHERE o.path LIKE (SELECT so.path FROM organizations so WHERE so.id = $1) || '%')"
        }
        WebhookScope::Volunteer => {
            "s.id IN (SELECT g.session_id FROM assignments g WHERE g.volunteer_id = $1 AND g.status IN (ACTIVE))"
        }
        WebhookScope::Team => {
            "s.id IN (SELECT g.session_id FROM assignments g \
             JOIN team_memberships m ON m.volunteer_id = g.volunteer_id JOIN teams t ON t.id = m.team_id \
             WHERE g.status IN (ACTIVE) AND t.path LIKE (SELECT st.path FROM teams st WHERE st.id = $1) || '%')"
        }
    }
}

#[derive(FromQueryResult)]
struct Covered {
    id: i64,
    starts_at: DateTime<Utc>,
    sequence: i32,
}

/// Makes a subscription's reminders match what it is now (created, re-scoped, offsets or
/// events changed, switched on or off): its pending reminders are withdrawn, and when it is
/// on and wants reminders, those of every covered session still to start are made (or
/// brought back).
pub async fn subscribed(txn: &DatabaseTransaction, webhook: &Webhook, now: DateTime<Utc>) -> Result<()> {
    let its_own = Condition::all().add(DeliveryColumn::WebhookId.eq(webhook.id));
    deliveries::withdraw_pending_where(txn, REMINDER, its_own, now).await?;
    if !webhook.enabled || !wants(webhook, REMINDER) {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let text = COVERED.replace("SCOPE", covered_by(webhook.scope_kind));
    let statement = Statement::from_sql_and_values(
        backend,
        sql(&text, backend),
        [Value::from(webhook.scope_id), Value::from(now)],
    );
    let rows = txn.query_all_raw(statement).await?;
    let mut due = Vec::new();
    for row in &rows {
        let session = Covered::from_query_result(row, "")?;
        due.extend(reminders_of(
            webhook,
            session.id,
            session.starts_at,
            session.sequence,
            now,
        ));
    }
    deliveries::enqueue_all(txn, due, now).await?;
    Ok(())
}
