//! `sciday export`: the database as a [`Document`] that `sciday import` reads back — into an
//! empty database as it was, or merged by key into one that holds data.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound as _, Utc};
use entity::prelude::{Activity, Organization, Program, Session, Venue};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, EntityTrait, IsolationLevel, QueryOrder, TransactionTrait,
};

use super::format::{
    ActivityRecord, ContactRecord, Document, FORMAT, OrganizationRecord, ProgramRecord, SessionRecord, Stored,
    VenueRecord,
};
use crate::domain::zone::Zone;
use crate::error::Result;
use crate::store::activities::service_kinds;
use crate::store::sessions::schedule_of;

mod backup;
mod program;
mod staffing;

/// What an export writes beyond the program and its staffing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Webhook addresses and signing secrets as they are, and API token hashes.
    pub include_secrets: bool,
    /// Messages already sent, failed or withdrawn, with their attempts (those still waiting
    /// are always written).
    pub include_deliveries: bool,
    /// Only this program and what it needs.
    pub program: Option<i64>,
}

/// Every table the API writes, read in one snapshot (a read-only, repeatable-read
/// transaction), so a backup taken while the service runs is consistent.
pub async fn export(conn: &DatabaseConnection, options: Options) -> Result<Document> {
    let txn = conn
        .begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
        .await?;
    let mut document = read(&txn, options).await?;
    txn.commit().await?;
    if let Some(id) = options.program {
        document = program::only(document, id)?;
    }
    Ok(document)
}

/// The keys of a table's rows, by id.
pub(super) type Keys = HashMap<i64, String>;

/// The key of row `id` (every reference is a foreign key, so it is there).
pub(super) fn key(keys: &Keys, id: i64) -> String {
    keys.get(&id).cloned().unwrap_or_default()
}

/// A time as written: to the microsecond, which every database keeps.
pub(super) fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// A row's identity and bookkeeping.
pub(super) fn stored(id: i64, version: i32, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> Stored {
    Stored {
        id,
        version,
        created_at: micros(created_at),
        updated_at: micros(updated_at),
    }
}

async fn read(conn: &impl ConnectionTrait, options: Options) -> Result<Document> {
    use entity::{organization, program, session, venue};

    // The order depends on keys and times, never on ids, so the same data exports to the
    // same bytes from every database.
    let organizations = tree_order(
        Organization::find()
            .order_by_asc(organization::Column::Key)
            .all(conn)
            .await?,
        |o| o.id,
        |o| o.parent_id,
    );
    let venues = Venue::find().order_by_asc(venue::Column::Key).all(conn).await?;
    let programs = Program::find().order_by_asc(program::Column::Key).all(conn).await?;
    let mut activities = Activity::find().all(conn).await?;
    let sessions = Session::find()
        .order_by_asc(session::Column::StartsAt)
        .order_by_asc(session::Column::Key)
        .all(conn)
        .await?;

    let org_keys: Keys = organizations.iter().map(|o| (o.id, o.key.clone())).collect();
    let venue_keys: Keys = venues.iter().map(|v| (v.id, v.key.clone())).collect();
    let program_keys: Keys = programs.iter().map(|p| (p.id, p.key.clone())).collect();
    let activity_keys: Keys = activities.iter().map(|a| (a.id, a.key.clone())).collect();
    let session_keys: Keys = sessions.iter().map(|s| (s.id, s.key.clone())).collect();
    activities.sort_by_cached_key(|a| (key(&program_keys, a.program_id), a.display_order, a.key.clone()));

    let staffing = staffing::export(conn, &org_keys, &session_keys).await?;
    let refs = backup::References {
        organizations: &org_keys,
        venues: &venue_keys,
        programs: &program_keys,
        activities: &activity_keys,
        sessions: &session_keys,
        teams: &staffing.team_keys,
        volunteers: &staffing.volunteer_keys,
    };
    let extra = backup::export(conn, &refs, options).await?;
    Ok(Document {
        format: FORMAT.to_owned(),
        notes: Vec::new(),
        organizations: organizations
            .iter()
            .map(|o| OrganizationRecord {
                key: o.key.clone(),
                stored: Some(stored(o.id, o.version, o.created_at, o.updated_at)),
                parent: o.parent_id.map(|id| key(&org_keys, id)),
                kind: o.kind,
                name: o.name.clone(),
                short_name: o.short_name.clone(),
                contact: ContactRecord {
                    name: o.contact_name.clone(),
                    office_phone: o.contact_office_phone.clone(),
                    mobile: o.contact_mobile.clone(),
                    fax: o.contact_fax.clone(),
                    email: o.contact_email.clone(),
                },
                plan_expected: o.plan_expected,
            })
            .collect(),
        venues: venues
            .iter()
            .map(|v| VenueRecord {
                key: v.key.clone(),
                stored: Some(stored(v.id, v.version, v.created_at, v.updated_at)),
                name: v.name.clone(),
                address: v.address.clone(),
                kind: v.kind,
                latitude: v.latitude,
                longitude: v.longitude,
                time_zone: v.time_zone.clone(),
                organization: v.organization_id.map(|id| key(&org_keys, id)),
                shared: v.shared,
                illustrative: v.illustrative,
            })
            .collect(),
        programs: programs
            .iter()
            .map(|p| {
                let zone = Zone::from_stored(&p.time_zone);
                ProgramRecord {
                    key: p.key.clone(),
                    stored: Some(stored(p.id, p.version, p.created_at, p.updated_at)),
                    name: p.name.clone(),
                    theme: p.theme.clone(),
                    time_zone: p.time_zone.clone(),
                    host_organization: key(&org_keys, p.host_organization_id),
                    plan_deadline: p
                        .plan_deadline
                        .map(|t| micros(t).with_timezone(&zone.tz()).fixed_offset().to_rfc3339()),
                }
            })
            .collect(),
        activities: activities
            .iter()
            .map(|a| ActivityRecord {
                key: a.key.clone(),
                stored: Some(stored(a.id, a.version, a.created_at, a.updated_at)),
                program: key(&program_keys, a.program_id),
                kind: a.kind,
                display_order: a.display_order,
                title: a.title.clone(),
                description: a.description.clone(),
                organization: key(&org_keys, a.organization_id),
                service_kinds: service_kinds(a),
                public: a.public,
            })
            .collect(),
        sessions: sessions
            .iter()
            .map(|s| {
                let schedule = schedule_of(s);
                SessionRecord {
                    key: s.key.clone(),
                    stored: Some(stored(s.id, s.version, s.created_at, s.updated_at)),
                    activity: key(&activity_keys, s.activity_id),
                    venue: key(&venue_keys, s.venue_id),
                    title: s.title.clone(),
                    description: s.description.clone(),
                    time_zone: Some(s.time_zone.clone()),
                    all_day: s.all_day,
                    starts_at: (!s.all_day).then(|| schedule.local_start().to_rfc3339()),
                    ends_at: (!s.all_day).then(|| schedule.local_end().to_rfc3339()),
                    start_date: s.start_date,
                    end_date: s.end_date,
                    status: s.status,
                    capacity: s.capacity,
                    video_url: s.video_url.clone(),
                    linked_session: s.linked_session_id.map(|id| key(&session_keys, id)),
                    illustrative: s.illustrative,
                    sequence: Some(s.sequence),
                    deleted_at: s.deleted_at.map(micros),
                }
            })
            .collect(),
        teams: staffing.teams,
        volunteers: staffing.volunteers,
        session_roles: staffing.roles,
        assignments: staffing.assignments,
        api_tokens: extra.tokens,
        plans: extra.plans,
        plan_extensions: extra.extensions,
        webhooks: extra.webhooks,
        deliveries: extra.deliveries,
        session_changes: extra.session_changes,
        audit_entries: extra.audit_entries,
    })
}

/// Rows of a tree depth first, each parent before its children, siblings in the given order
/// (key order, so the result does not depend on database ids).
pub(super) fn tree_order<T>(rows: Vec<T>, id: impl Fn(&T) -> i64, parent: impl Fn(&T) -> Option<i64>) -> Vec<T> {
    let ids: std::collections::HashSet<i64> = rows.iter().map(&id).collect();
    let mut children: HashMap<Option<i64>, Vec<usize>> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        // A parent outside the set cannot happen (foreign key), but would not lose the row.
        children
            .entry(parent(row).filter(|p| ids.contains(p)))
            .or_default()
            .push(i);
    }
    let mut order = Vec::with_capacity(rows.len());
    let mut stack: Vec<usize> = children.get(&None).into_iter().flatten().rev().copied().collect();
    while let Some(i) = stack.pop() {
        order.push(i);
        stack.extend(children.get(&Some(id(&rows[i]))).into_iter().flatten().rev());
    }
    let mut slots: Vec<Option<T>> = rows.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}
