//! The keyless part of an export: API tokens, plans, extensions, webhook subscriptions and
//! the outbox.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use entity::kinds::{DeliveryStatus, WebhookScope};
use entity::prelude::{
    ApiToken, Delivery, DeliveryAttempt, Plan, PlanAttachment, PlanExtension, PlanRevision, Webhook,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{Keys, Options, key, micros, stored};
use crate::error::Result;
use crate::transfer::format::{
    AttachmentRecord, AttemptRecord, AuditRecord, ChangeRecord, ChangeSide, ContactRecord, DeliveryRecord,
    ExtensionRecord, PlanRecord, RevisionRecord, ScopeRecord, TokenRecord, WebhookRecord,
};

/// The keys of everything the keyless records refer to.
pub(super) struct References<'a> {
    pub organizations: &'a Keys,
    pub venues: &'a Keys,
    pub programs: &'a Keys,
    pub activities: &'a Keys,
    pub sessions: &'a Keys,
    pub teams: &'a Keys,
    pub volunteers: &'a Keys,
}

impl References<'_> {
    fn scope(&self, kind: WebhookScope) -> &Keys {
        match kind {
            WebhookScope::Program => self.programs,
            WebhookScope::Activity => self.activities,
            WebhookScope::Team => self.teams,
            WebhookScope::Venue => self.venues,
            WebhookScope::Organization => self.organizations,
            WebhookScope::Volunteer => self.volunteers,
        }
    }
}

pub(super) struct Backup {
    pub tokens: Vec<TokenRecord>,
    pub plans: Vec<PlanRecord>,
    pub extensions: Vec<ExtensionRecord>,
    pub webhooks: Vec<WebhookRecord>,
    pub deliveries: Vec<DeliveryRecord>,
    pub session_changes: Vec<ChangeRecord>,
    pub audit_entries: Vec<AuditRecord>,
}

pub(super) async fn export(conn: &impl ConnectionTrait, refs: &References<'_>, options: Options) -> Result<Backup> {
    let webhooks = Webhook::find()
        .order_by_asc(entity::webhook::Column::Key)
        .all(conn)
        .await?;
    let webhook_keys: Keys = webhooks.iter().map(|w| (w.id, w.key.clone())).collect();
    Ok(Backup {
        tokens: tokens(conn, refs, options).await?,
        plans: plans(conn, refs).await?,
        extensions: PlanExtension::find()
            .order_by_asc(entity::plan_extension::Column::Id)
            .all(conn)
            .await?
            .into_iter()
            .map(|e| ExtensionRecord {
                stored: stored(e.id, e.version, e.created_at, e.updated_at),
                program: key(refs.programs, e.program_id),
                organization: key(refs.organizations, e.organization_id),
                until: micros(e.until),
                reason: e.reason,
            })
            .collect(),
        webhooks: webhooks
            .into_iter()
            .map(|w| {
                let withheld = !options.include_secrets && (w.secret.is_some() || w.url != w.url_shown);
                WebhookRecord {
                    stored: stored(w.id, w.version, w.created_at, w.updated_at),
                    organization: key(refs.organizations, w.organization_id),
                    name: w.name,
                    url: if options.include_secrets { w.url } else { w.url_shown },
                    format: w.format,
                    scope: ScopeRecord {
                        kind: w.scope_kind,
                        key: key(refs.scope(w.scope_kind), w.scope_id),
                    },
                    events: w.events,
                    offsets: w.offsets,
                    secret: w.secret.filter(|_| options.include_secrets),
                    withheld,
                    keyword: w.keyword,
                    mention: w.mention,
                    enabled: w.enabled,
                    disabled_reason: w.disabled_reason,
                    failing_since: w.failing_since.map(micros),
                    flag: w.flag,
                    key: w.key,
                }
            })
            .collect(),
        deliveries: deliveries(conn, refs, &webhook_keys, options).await?,
        session_changes: session_changes(conn, refs).await?,
        audit_entries: entity::prelude::AuditEntry::find()
            .order_by_asc(entity::audit_entry::Column::Id)
            .all(conn)
            .await?
            .into_iter()
            .map(AuditRecord::from)
            .collect(),
    })
}

/// The history of the exported sessions, oldest first; a change naming a venue outside the
/// export is left out.
async fn session_changes(conn: &impl ConnectionTrait, refs: &References<'_>) -> Result<Vec<ChangeRecord>> {
    let changes = entity::prelude::SessionChange::find()
        .order_by_asc(entity::session_change::Column::Id)
        .all(conn)
        .await?;
    Ok(changes
        .into_iter()
        .filter(|c| {
            refs.sessions.contains_key(&c.session_id)
                && refs.venues.contains_key(&c.old_venue_id)
                && refs.venues.contains_key(&c.new_venue_id)
        })
        .map(|c| ChangeRecord {
            session: key(refs.sessions, c.session_id),
            sequence: c.sequence,
            changed_at: micros(c.changed_at),
            old: ChangeSide {
                all_day: c.old_all_day,
                starts_at: micros(c.old_starts_at),
                ends_at: micros(c.old_ends_at),
                venue: key(refs.venues, c.old_venue_id),
                status: c.old_status,
            },
            new: ChangeSide {
                all_day: c.new_all_day,
                starts_at: micros(c.new_starts_at),
                ends_at: micros(c.new_ends_at),
                venue: key(refs.venues, c.new_venue_id),
                status: c.new_status,
            },
            deleted: c.deleted,
        })
        .collect())
}

async fn tokens(conn: &impl ConnectionTrait, refs: &References<'_>, options: Options) -> Result<Vec<TokenRecord>> {
    Ok(ApiToken::find()
        .order_by_asc(entity::api_token::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|t| TokenRecord {
            id: t.id,
            name: t.name,
            role: t.role,
            organization: t.organization_id.map(|id| key(refs.organizations, id)),
            volunteer: t.volunteer_id.map(|id| key(refs.volunteers, id)),
            prefix: t.prefix,
            secret_hash: options.include_secrets.then_some(t.secret_hash),
            created_at: micros(t.created_at),
            revoked_at: t.revoked_at.map(micros),
            expires_at: t.expires_at.map(micros),
            last_used_at: t.last_used_at.map(micros),
        })
        .collect())
}

async fn plans(conn: &impl ConnectionTrait, refs: &References<'_>) -> Result<Vec<PlanRecord>> {
    let mut revisions: HashMap<i64, Vec<RevisionRecord>> = HashMap::new();
    for r in PlanRevision::find()
        .order_by_asc(entity::plan_revision::Column::PlanId)
        .order_by_asc(entity::plan_revision::Column::Revision)
        .all(conn)
        .await?
    {
        revisions.entry(r.plan_id).or_default().push(RevisionRecord {
            id: r.id,
            revision: r.revision,
            content: r.content,
            submitted_at: micros(r.submitted_at),
        });
    }
    let mut attachments: HashMap<i64, Vec<AttachmentRecord>> = HashMap::new();
    for a in PlanAttachment::find()
        .order_by_asc(entity::plan_attachment::Column::Id)
        .all(conn)
        .await?
    {
        attachments.entry(a.plan_id).or_default().push(AttachmentRecord {
            id: a.id,
            kind: a.kind,
            file_name: a.file_name,
            content: STANDARD.encode(&a.content),
            created_at: micros(a.created_at),
        });
    }
    Ok(Plan::find()
        .order_by_asc(entity::plan::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|p| PlanRecord {
            stored: stored(p.id, p.version, p.created_at, p.updated_at),
            program: key(refs.programs, p.program_id),
            organization: key(refs.organizations, p.organization_id),
            activity_name: p.activity_name,
            organizing_unit: p.organizing_unit,
            venue: key(refs.venues, p.venue_id),
            joins_video_link: p.joins_video_link,
            contact: ContactRecord {
                name: Some(p.contact_name),
                office_phone: p.contact_office_phone,
                mobile: Some(p.contact_mobile),
                fax: p.contact_fax,
                email: p.contact_email,
            },
            text: p.text,
            revision: p.revision,
            review: p.review,
            review_comment: p.review_comment,
            reviewed_at: p.reviewed_at.map(micros),
            session: p.session_id.map(|id| key(refs.sessions, id)),
            submitted_at: micros(p.submitted_at),
            revised_at: micros(p.revised_at),
            revisions: revisions.remove(&p.id).unwrap_or_default(),
            attachments: attachments.remove(&p.id).unwrap_or_default(),
        })
        .collect())
}

/// Messages still waiting always; settled ones with `include_deliveries`. A message being
/// sent is written as waiting and possibly sent.
async fn deliveries(
    conn: &impl ConnectionTrait,
    refs: &References<'_>,
    webhooks: &Keys,
    options: Options,
) -> Result<Vec<DeliveryRecord>> {
    use entity::delivery::Column;
    let waiting = [DeliveryStatus::Pending, DeliveryStatus::Sending];
    let mut query = Delivery::find().order_by_asc(Column::Id);
    if !options.include_deliveries {
        query = query.filter(Column::Status.is_in(waiting));
    }
    let rows = query.all(conn).await?;
    let mut tries: HashMap<i64, Vec<AttemptRecord>> = HashMap::new();
    if options.include_deliveries {
        for a in DeliveryAttempt::find()
            .order_by_asc(entity::delivery_attempt::Column::Id)
            .all(conn)
            .await?
        {
            tries.entry(a.delivery_id).or_default().push(AttemptRecord {
                id: a.id,
                attempted_at: micros(a.attempted_at),
                duration_ms: a.duration_ms,
                http_status: a.http_status,
                error_code: a.error_code,
                error_message: a.error_message,
                response_body: a.response_body,
                outcome: a.outcome,
                next_attempt_at: a.next_attempt_at.map(micros),
            });
        }
    }
    Ok(rows
        .into_iter()
        .map(|d| {
            let in_flight = d.status == DeliveryStatus::Sending;
            DeliveryRecord {
                id: d.id,
                webhook: key(webhooks, d.webhook_id),
                event_type: d.event_type,
                session: d.session_id.and_then(|id| refs.sessions.get(&id).cloned()),
                assignment_id: d.assignment_id,
                dedupe_key: d.dedupe_key,
                payload: d.payload,
                due_at: micros(d.due_at),
                deadline: d.deadline.map(micros),
                status: if in_flight { DeliveryStatus::Pending } else { d.status },
                attempts: d.attempts,
                next_attempt_at: micros(d.next_attempt_at),
                delivered_at: d.delivered_at.map(micros),
                last_error: d.last_error,
                maybe_sent: d.maybe_sent || in_flight,
                created_at: micros(d.created_at),
                updated_at: micros(d.updated_at),
                tries: tries.remove(&d.id).unwrap_or_default(),
            }
        })
        .collect())
}
