//! Restoring the keyless records: API tokens, plans with their revisions and attachments,
//! extensions, webhook subscriptions and the outbox.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use entity::kinds::WebhookScope;
use entity::{api_token, delivery, delivery_attempt, plan, plan_extension, plan_revision, session_change, webhook};
use sea_orm::{DatabaseTransaction, Set};

use super::{Ids, id_of};
use crate::error::{Error, Result};
use crate::store::{insert_all, plans};
use crate::transfer::format::Document;
use crate::transfer::import::{Report, within};

/// What a token restored without its hash holds instead: no token hashes to it.
const NO_HASH: &str = "withheld";

/// Why a subscription restored without its address and secret is off, and what to do.
pub const WITHHELD: &str = "restored from a backup made without --include-secrets: \
                            give its url (and secret) again, then enable it";

/// API tokens. One restored without its hash cannot be used, so it is restored revoked.
pub(super) async fn tokens(
    txn: &DatabaseTransaction,
    document: &Document,
    ids: &Ids,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Result<()> {
    let mut rows = Vec::with_capacity(document.api_tokens.len());
    for (i, record) in document.api_tokens.iter().enumerate() {
        let place = || -> Result<(Option<i64>, Option<i64>)> {
            let organization = match &record.organization {
                Some(key) => Some(id_of(&ids.organizations, "organization", "organization", key)?),
                None => None,
            };
            let volunteer = match &record.volunteer {
                Some(key) => Some(id_of(&ids.volunteers, "volunteer", "volunteer", key)?),
                None => None,
            };
            Ok((organization, volunteer))
        };
        let (organization_id, volunteer_id) = place().map_err(within(format!("api_tokens[{i}]")))?;
        let hash = record.secret_hash.clone();
        rows.push(api_token::ActiveModel {
            id: Set(record.id),
            name: Set(record.name.clone()),
            role: Set(record.role),
            organization_id: Set(organization_id),
            volunteer_id: Set(volunteer_id),
            prefix: Set(record.prefix.clone()),
            revoked_at: Set(record.revoked_at.or(hash.is_none().then_some(now))),
            secret_hash: Set(hash.unwrap_or_else(|| NO_HASH.to_owned())),
            created_at: Set(record.created_at),
            expires_at: Set(record.expires_at),
            last_used_at: Set(record.last_used_at),
        });
    }
    report.api_tokens = rows.len();
    insert_all(txn, rows).await
}

/// Plans, extensions, subscriptions and the outbox.
pub(super) async fn restore(
    txn: &DatabaseTransaction,
    document: &Document,
    ids: &Ids,
    report: &mut Report,
    tick: &(dyn Fn() + Sync),
) -> Result<()> {
    plans(txn, document, ids, report, tick).await?;
    let mut rows = Vec::with_capacity(document.plan_extensions.len());
    for (i, record) in document.plan_extensions.iter().enumerate() {
        let place = || -> Result<(i64, i64)> {
            Ok((
                id_of(&ids.programs, "program", "program", &record.program)?,
                id_of(&ids.organizations, "organization", "organization", &record.organization)?,
            ))
        };
        let (program_id, organization_id) = place().map_err(within(format!("plan_extensions[{i}]")))?;
        rows.push(plan_extension::ActiveModel {
            id: Set(record.stored.id),
            program_id: Set(program_id),
            organization_id: Set(organization_id),
            until: Set(record.until),
            reason: Set(record.reason.clone()),
            version: Set(record.stored.version),
            created_at: Set(record.stored.created_at),
            updated_at: Set(record.stored.updated_at),
        });
    }
    report.plan_extensions = rows.len();
    insert_all(txn, rows).await?;
    let webhooks = webhooks(txn, document, ids, report).await?;
    deliveries(txn, document, ids, &webhooks, report, tick).await?;
    session_changes(txn, document, ids).await?;
    audit_entries(txn, document).await
}

/// The audit trail, entry for entry: the records it names keep their ids in a restore.
async fn audit_entries(txn: &DatabaseTransaction, document: &Document) -> Result<()> {
    let rows = document
        .audit_entries
        .iter()
        .map(|e| entity::audit_entry::ActiveModel {
            id: Set(e.id),
            at: Set(e.at),
            actor_role: Set(e.actor_role.clone()),
            token_id: Set(e.token_id),
            volunteer_id: Set(e.volunteer_id),
            request_id: Set(e.request_id.clone()),
            action: Set(e.action.clone()),
            object_type: Set(e.object_type.clone()),
            object_id: Set(e.object_id),
            organization_id: Set(e.organization_id),
            cause_id: Set(e.cause_id),
            changes: Set(e.changes.clone()),
        })
        .collect();
    insert_all(txn, rows).await
}

/// The sessions' histories, as they were.
async fn session_changes(txn: &DatabaseTransaction, document: &Document, ids: &Ids) -> Result<()> {
    let mut rows = Vec::with_capacity(document.session_changes.len());
    for (i, record) in document.session_changes.iter().enumerate() {
        let place = || -> Result<(i64, i64, i64)> {
            Ok((
                id_of(&ids.sessions, "session", "session", &record.session)?,
                id_of(&ids.venues, "old.venue", "venue", &record.old.venue)?,
                id_of(&ids.venues, "new.venue", "venue", &record.new.venue)?,
            ))
        };
        let (session_id, old_venue, new_venue) = place().map_err(within(format!("session_changes[{i}]")))?;
        rows.push(session_change::ActiveModel {
            session_id: Set(session_id),
            sequence: Set(record.sequence),
            changed_at: Set(record.changed_at),
            old_all_day: Set(record.old.all_day),
            old_starts_at: Set(record.old.starts_at),
            old_ends_at: Set(record.old.ends_at),
            old_venue_id: Set(old_venue),
            old_status: Set(record.old.status),
            new_all_day: Set(record.new.all_day),
            new_starts_at: Set(record.new.starts_at),
            new_ends_at: Set(record.new.ends_at),
            new_venue_id: Set(new_venue),
            new_status: Set(record.new.status),
            deleted: Set(record.deleted),
            ..Default::default()
        });
    }
    insert_all(txn, rows).await
}

async fn plans(
    txn: &DatabaseTransaction,
    document: &Document,
    ids: &Ids,
    report: &mut Report,
    tick: &(dyn Fn() + Sync),
) -> Result<()> {
    let mut plans = Vec::with_capacity(document.plans.len());
    let mut revisions = Vec::new();
    let mut attachments = Vec::new();
    for (i, record) in document.plans.iter().enumerate() {
        let at = format!("plans[{i}]");
        let place = || -> Result<(i64, i64, i64, Option<i64>)> {
            let session = match &record.session {
                Some(key) => Some(id_of(&ids.sessions, "session", "session", key)?),
                None => None,
            };
            Ok((
                id_of(&ids.programs, "program", "program", &record.program)?,
                id_of(&ids.organizations, "organization", "organization", &record.organization)?,
                id_of(&ids.venues, "venue", "venue", &record.venue)?,
                session,
            ))
        };
        let (program_id, organization_id, venue_id, session_id) = place().map_err(within(at.clone()))?;
        let required = |value: &Option<String>, field: &str| {
            value
                .clone()
                .ok_or_else(|| Error::field(format!("{at}.contact.{field}"), "missing", "a plan needs it"))
        };
        let stored = record.stored;
        plans.push(plan::ActiveModel {
            id: Set(stored.id),
            program_id: Set(program_id),
            organization_id: Set(organization_id),
            activity_name: Set(record.activity_name.clone()),
            organizing_unit: Set(record.organizing_unit.clone()),
            venue_id: Set(venue_id),
            joins_video_link: Set(record.joins_video_link),
            contact_name: Set(required(&record.contact.name, "name")?),
            contact_office_phone: Set(record.contact.office_phone.clone()),
            contact_mobile: Set(required(&record.contact.mobile, "mobile")?),
            contact_fax: Set(record.contact.fax.clone()),
            contact_email: Set(record.contact.email.clone()),
            text: Set(record.text.clone()),
            revision: Set(record.revision),
            review: Set(record.review),
            review_comment: Set(record.review_comment.clone()),
            reviewed_at: Set(record.reviewed_at),
            session_id: Set(session_id),
            submitted_at: Set(record.submitted_at),
            revised_at: Set(record.revised_at),
            version: Set(stored.version),
            created_at: Set(stored.created_at),
            updated_at: Set(stored.updated_at),
        });
        revisions.extend(record.revisions.iter().map(|r| plan_revision::ActiveModel {
            id: Set(r.id),
            plan_id: Set(stored.id),
            revision: Set(r.revision),
            content: Set(r.content.clone()),
            submitted_at: Set(r.submitted_at),
        }));
        for (a, file) in record.attachments.iter().enumerate() {
            let content = STANDARD.decode(&file.content).map_err(|_| {
                Error::field(
                    format!("{at}.attachments[{a}].content"),
                    "invalid_base64",
                    "must be the file's bytes in standard base64",
                )
            })?;
            let mut row = plans::attachment_row(stored.id, file.kind, file.file_name.clone(), content, file.created_at);
            row.id = Set(file.id);
            attachments.push(row);
        }
        tick();
    }
    report.plans = plans.len();
    insert_all(txn, plans).await?;
    insert_all(txn, revisions).await?;
    // Files may be large: a few at a time.
    for file in attachments {
        insert_all(txn, vec![file]).await?;
    }
    Ok(())
}

/// Restores the subscriptions; returns their ids by key.
async fn webhooks(
    txn: &DatabaseTransaction,
    document: &Document,
    ids: &Ids,
    report: &mut Report,
) -> Result<HashMap<String, i64>> {
    let mut by_key = HashMap::with_capacity(document.webhooks.len());
    let mut rows = Vec::with_capacity(document.webhooks.len());
    for (i, record) in document.webhooks.iter().enumerate() {
        let place = || -> Result<(i64, i64)> {
            let scope = &record.scope;
            let scoped = match scope.kind {
                WebhookScope::Program => id_of(&ids.programs, "scope.key", "program", &scope.key),
                WebhookScope::Activity => id_of(&ids.activities, "scope.key", "activity", &scope.key),
                WebhookScope::Team => id_of(&ids.teams, "scope.key", "team", &scope.key),
                WebhookScope::Venue => id_of(&ids.venues, "scope.key", "venue", &scope.key),
                WebhookScope::Organization => id_of(&ids.organizations, "scope.key", "organization", &scope.key),
                WebhookScope::Volunteer => id_of(&ids.volunteers, "scope.key", "volunteer", &scope.key),
            }?;
            Ok((
                id_of(&ids.organizations, "organization", "organization", &record.organization)?,
                scoped,
            ))
        };
        let (organization_id, scope_id) = place().map_err(within(format!("webhooks[{i}]")))?;
        if by_key.insert(record.key.clone(), record.stored.id).is_some() {
            return Err(Error::field(
                format!("webhooks[{i}].key"),
                "duplicate_key",
                format!("the key {:?} is given twice", record.key),
            ));
        }
        let shown = crate::domain::webhook::WebhookUrl::stored(&record.url).redacted();
        let stored = record.stored;
        rows.push(webhook::ActiveModel {
            id: Set(stored.id),
            key: Set(record.key.clone()),
            organization_id: Set(organization_id),
            name: Set(record.name.clone()),
            url: Set(record.url.clone()),
            url_shown: Set(shown),
            format: Set(record.format),
            scope_kind: Set(record.scope.kind),
            scope_id: Set(scope_id),
            events: Set(record.events.clone()),
            offsets: Set(record.offsets.clone()),
            secret: Set(record.secret.clone()),
            keyword: Set(record.keyword.clone()),
            mention: Set(record.mention),
            enabled: Set(record.enabled && !record.withheld),
            disabled_reason: Set(if record.withheld {
                Some(WITHHELD.to_owned())
            } else {
                record.disabled_reason.clone()
            }),
            failing_since: Set(record.failing_since),
            recent_sends: Set(None),
            flag: Set(if record.withheld {
                Some(WITHHELD.to_owned())
            } else {
                record.flag.clone()
            }),
            gathering_until: Set(None),
            throttled_until: Set(None),
            version: Set(stored.version),
            created_at: Set(stored.created_at),
            updated_at: Set(stored.updated_at),
        });
    }
    report.webhooks = rows.len();
    insert_all(txn, rows).await?;
    Ok(by_key)
}

async fn deliveries(
    txn: &DatabaseTransaction,
    document: &Document,
    ids: &Ids,
    webhooks: &HashMap<String, i64>,
    report: &mut Report,
    tick: &(dyn Fn() + Sync),
) -> Result<()> {
    let mut rows = Vec::with_capacity(document.deliveries.len());
    let mut tries = Vec::new();
    for (i, record) in document.deliveries.iter().enumerate() {
        let place = || -> Result<(i64, Option<i64>)> {
            let session = match &record.session {
                Some(key) => Some(id_of(&ids.sessions, "session", "session", key)?),
                None => None,
            };
            Ok((id_of(webhooks, "webhook", "webhook", &record.webhook)?, session))
        };
        let (webhook_id, session_id) = place().map_err(within(format!("deliveries[{i}]")))?;
        rows.push(delivery::ActiveModel {
            id: Set(record.id),
            webhook_id: Set(webhook_id),
            event_type: Set(record.event_type.clone()),
            session_id: Set(session_id),
            assignment_id: Set(record.assignment_id),
            dedupe_key: Set(record.dedupe_key.clone()),
            payload: Set(record.payload.clone()),
            due_at: Set(record.due_at),
            deadline: Set(record.deadline),
            status: Set(record.status),
            attempts: Set(record.attempts),
            next_attempt_at: Set(record.next_attempt_at),
            lease_until: Set(None),
            leased_by: Set(None),
            delivered_at: Set(record.delivered_at),
            last_error: Set(record.last_error.clone()),
            created_at: Set(record.created_at),
            maybe_sent: Set(record.maybe_sent),
            updated_at: Set(record.updated_at),
        });
        tries.extend(record.tries.iter().map(|a| delivery_attempt::ActiveModel {
            id: Set(a.id),
            delivery_id: Set(record.id),
            webhook_id: Set(webhook_id),
            attempted_at: Set(a.attempted_at),
            duration_ms: Set(a.duration_ms),
            http_status: Set(a.http_status),
            error_code: Set(a.error_code),
            error_message: Set(a.error_message.clone()),
            response_body: Set(a.response_body.clone()),
            outcome: Set(a.outcome),
            next_attempt_at: Set(a.next_attempt_at),
        }));
        tick();
    }
    report.deliveries = rows.len();
    insert_all(txn, rows).await?;
    insert_all(txn, tries).await
}
