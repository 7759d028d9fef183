//! `sciday export`: the whole database as a [`Document`] that `sciday import` reads back.

use std::collections::HashMap;

use entity::prelude::{Activity, Organization, Program, Session, Venue};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::format::{
    ActivityRecord, ContactRecord, Document, FORMAT, OrganizationRecord, ProgramRecord, SessionRecord, VenueRecord,
};
use crate::domain::zone::Zone;
use crate::error::Result;
use crate::store::activities::service_kinds;
use crate::store::sessions::schedule_of;

/// Reads every organization, venue, program, activity and live session.
pub async fn export(conn: &impl ConnectionTrait) -> Result<Document> {
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
        .filter(session::Column::DeletedAt.is_null())
        .order_by_asc(session::Column::StartsAt)
        .order_by_asc(session::Column::Key)
        .all(conn)
        .await?;

    let org_keys: HashMap<i64, String> = organizations.iter().map(|o| (o.id, o.key.clone())).collect();
    let venue_keys: HashMap<i64, String> = venues.iter().map(|v| (v.id, v.key.clone())).collect();
    let program_keys: HashMap<i64, String> = programs.iter().map(|p| (p.id, p.key.clone())).collect();
    let activity_keys: HashMap<i64, String> = activities.iter().map(|a| (a.id, a.key.clone())).collect();
    let session_keys: HashMap<i64, String> = sessions.iter().map(|s| (s.id, s.key.clone())).collect();
    let key = |keys: &HashMap<i64, String>, id: i64| keys.get(&id).cloned().unwrap_or_default();
    activities.sort_by_cached_key(|a| (key(&program_keys, a.program_id), a.display_order, a.key.clone()));

    let (teams, volunteers, session_roles, assignments) =
        super::staffing::export(conn, &org_keys, &session_keys).await?;
    Ok(Document {
        teams,
        volunteers,
        session_roles,
        assignments,
        format: FORMAT.to_owned(),
        notes: Vec::new(),
        organizations: organizations
            .iter()
            .map(|o| OrganizationRecord {
                key: o.key.clone(),
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
                    name: p.name.clone(),
                    theme: p.theme.clone(),
                    time_zone: p.time_zone.clone(),
                    host_organization: key(&org_keys, p.host_organization_id),
                    plan_deadline: p
                        .plan_deadline
                        .map(|t| t.with_timezone(&zone.tz()).fixed_offset().to_rfc3339()),
                }
            })
            .collect(),
        activities: activities
            .iter()
            .map(|a| ActivityRecord {
                key: a.key.clone(),
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
                }
            })
            .collect(),
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
