//! What a session's changes put in the outbox, in the transaction that makes them: reminders
//! for the subscriptions that cover it, withdrawn and made anew when it moves, and a notice
//! when it moves or is called off.

use chrono::{DateTime, Utc};
use entity::kinds::SessionStatus;
use entity::session::Model as Session;
use entity::webhook::Model as Webhook;
use sea_orm::{ConnectionTrait, DatabaseTransaction, FromQueryResult, Statement, Value};
use serde_json::json;

use super::deliveries::{self, NewDelivery};
use super::dialect::sql;
use super::webhooks::offsets_of;
use crate::domain::reminder;
use crate::error::Result;

/// Enabled subscriptions whose scope covers the session: its program, activity or venue; an
/// organization at or above its organizer; a volunteer assigned to it, or a team (or a team
/// above) one of whose members is. One indexed lookup of `(scope_kind, scope_id)` per kind.
const COVERING: &str = "\
SELECT w.* FROM webhooks w WHERE w.scope_kind = 'program' AND w.enabled = TRUE \
  AND w.scope_id IN (SELECT s.program_id FROM sessions s WHERE s.id = $1) \
UNION ALL SELECT w.* FROM webhooks w WHERE w.scope_kind = 'activity' AND w.enabled = TRUE \
  AND w.scope_id IN (SELECT s.activity_id FROM sessions s WHERE s.id = $1) \
UNION ALL SELECT w.* FROM webhooks w WHERE w.scope_kind = 'venue' AND w.enabled = TRUE \
  AND w.scope_id IN (SELECT s.venue_id FROM sessions s WHERE s.id = $1) \
UNION ALL SELECT w.* FROM webhooks w WHERE w.scope_kind = 'organization' AND w.enabled = TRUE \
  AND w.scope_id IN (SELECT so.id FROM organizations so, sessions s \
    JOIN activities a ON a.id = s.activity_id JOIN organizations o ON o.id = a.organization_id \
    WHERE s.id = $1 AND o.path LIKE so.path || '%') \
UNION ALL SELECT w.* FROM webhooks w WHERE w.scope_kind = 'volunteer' AND w.enabled = TRUE \
  AND w.scope_id IN (SELECT g.volunteer_id FROM assignments g WHERE g.session_id = $1 AND g.status IN (ACTIVE)) \
UNION ALL SELECT w.* FROM webhooks w WHERE w.scope_kind = 'team' AND w.enabled = TRUE \
  AND w.scope_id IN (SELECT st.id FROM assignments g \
    JOIN team_memberships m ON m.volunteer_id = g.volunteer_id JOIN teams t ON t.id = m.team_id, teams st \
    WHERE g.session_id = $1 AND g.status IN (ACTIVE) AND t.path LIKE st.path || '%') \
ORDER BY id";

/// The enabled subscriptions that cover a session.
pub async fn covering(conn: &impl ConnectionTrait, session_id: i64) -> Result<Vec<Webhook>> {
    let backend = conn.get_database_backend();
    let statement = Statement::from_sql_and_values(backend, sql(COVERING, backend), [Value::from(session_id)]);
    let rows = conn.query_all_raw(statement).await?;
    Ok(rows
        .iter()
        .map(|row| Webhook::from_query_result(row, ""))
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

fn wants(webhook: &Webhook, event: &str) -> bool {
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
    for webhook in covering(txn, session.id).await? {
        if wants(&webhook, "session.reminder") {
            enqueue_reminders(txn, &webhook, session, now).await?;
        }
    }
    Ok(())
}

async fn enqueue_reminders(
    txn: &DatabaseTransaction,
    webhook: &Webhook,
    session: &Session,
    now: DateTime<Utc>,
) -> Result<()> {
    for offset in offsets_of(webhook) {
        let due = reminder::due_at(session.starts_at, offset);
        if due <= now {
            continue;
        }
        let new = NewDelivery {
            webhook_id: webhook.id,
            event_type: "session.reminder".to_owned(),
            session_id: Some(session.id),
            assignment_id: None,
            dedupe_key: reminder::reminder_key(session.id, offset, session.sequence),
            payload: Some(json!({"offset_seconds": offset.num_seconds()})),
            due_at: due,
            deadline: Some(session.starts_at),
        };
        deliveries::enqueue(txn, new, now).await?;
    }
    Ok(())
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
    deliveries::withdraw_pending(txn, after.id, "session.reminder", now).await?;
    let event = if cancelled {
        "session.cancelled"
    } else {
        "session.rescheduled"
    };
    for webhook in covering(txn, after.id).await? {
        if (cancelled || moved) && wants(&webhook, event) {
            let notice = NewDelivery {
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
            };
            deliveries::enqueue(txn, notice, now).await?;
        }
        if is_on(after) && wants(&webhook, "session.reminder") {
            enqueue_reminders(txn, &webhook, after, now).await?;
        }
    }
    Ok(())
}
