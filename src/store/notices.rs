//! What a dispatcher reads to write notices: sessions as they are now, who serves at them,
//! the venues they moved from, and the volunteers assignment notices are about. Each is one
//! statement per few hundred ids, whatever the batch.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, Statement};

use crate::domain::notice::{OnDuty, SessionFacts, When};
use crate::domain::zone::Zone;
use crate::error::Result;

/// Ids per statement.
const CHUNK: usize = 500;

/// A session as a notice shows it, and whether it is still on.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    /// What notices say about it.
    pub facts: SessionFacts,
    /// Scheduled and not deleted.
    pub on: bool,
}

#[derive(FromQueryResult)]
struct FactRow {
    id: i64,
    title: Option<String>,
    all_day: bool,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    status: String,
    deleted_at: Option<DateTime<Utc>>,
    video_url: Option<String>,
    slot_video_url: Option<String>,
    activity_title: String,
    venue_id: i64,
    venue_name: String,
    venue_address: Option<String>,
    program_zone: String,
    activity_public: bool,
}

#[derive(FromQueryResult)]
struct RosterRow {
    session_id: i64,
    name: String,
    role: String,
    status: String,
    mobile: Option<String>,
}

#[derive(FromQueryResult)]
struct PersonRow {
    id: i64,
    name: String,
    role: String,
    status: String,
    mobile: Option<String>,
    reason: Option<String>,
}

#[derive(FromQueryResult)]
struct VenueRow {
    id: i64,
    name: String,
    address: Option<String>,
}

fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

async fn query<T: FromQueryResult>(conn: &impl ConnectionTrait, text: String) -> Result<Vec<T>> {
    let rows = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), text))
        .await?;
    Ok(rows
        .iter()
        .map(|row| T::from_query_result(row, ""))
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

/// The address a notice links to for a session: its page, or for a session of an activity
/// that is not public (and has no page) its record in the API.
pub fn session_link(public_url: &str, id: i64, public: bool) -> String {
    let public_url = public_url.trim_end_matches('/');
    if public {
        crate::web::session_url(public_url, id)
    } else {
        format!("{public_url}/api/v1/sessions/{id}")
    }
}

/// An assignment's role name, looked up by the role's key for each of the few hundred rows a
/// round reads: as a join, PostgreSQL may scan every role of the program in parallel to find
/// them, ten times slower on two busy cores.
const ROLE_NAME: &str = "(SELECT r.name FROM session_roles r WHERE r.id = g.role_id) AS role";

/// The personal page addresses of these volunteers, by volunteer id.
pub async fn pages(conn: &impl ConnectionTrait, volunteers: &[i64], public_url: &str) -> Result<HashMap<i64, String>> {
    let mut found = HashMap::with_capacity(volunteers.len());
    for chunk in volunteers.chunks(CHUNK) {
        let rows = entity::prelude::Volunteer::find()
            .filter(entity::volunteer::Column::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        for volunteer in rows {
            if let Some(token) = volunteer.page_token {
                found.insert(
                    volunteer.id,
                    crate::web::volunteer_url(public_url.trim_end_matches('/'), &token),
                );
            }
        }
    }
    Ok(found)
}

/// The sessions with these ids, with their active rosters, times told in their program's zone.
pub async fn sessions(conn: &impl ConnectionTrait, ids: &[i64], public_url: &str) -> Result<HashMap<i64, Subject>> {
    let mut found = HashMap::with_capacity(ids.len());
    let mut public = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let list = id_list(chunk);
        let rows: Vec<FactRow> = query(
            conn,
            format!(
                "SELECT s.id, s.title, s.all_day, s.starts_at, s.ends_at, s.start_date, s.end_date, s.status, \
                 s.deleted_at, s.video_url, k.video_url AS slot_video_url, a.title AS activity_title, \
                 s.venue_id, v.name AS venue_name, v.address AS venue_address, p.time_zone AS program_zone, \
                 a.public AS activity_public \
                 FROM sessions s JOIN activities a ON a.id = s.activity_id JOIN venues v ON v.id = s.venue_id \
                 JOIN programs p ON p.id = s.program_id LEFT JOIN sessions k ON k.id = s.linked_session_id \
                 WHERE s.id IN ({list})"
            ),
        )
        .await?;
        for row in rows {
            let when = match (row.all_day, row.start_date, row.end_date) {
                (true, Some(first), Some(last)) => When::AllDay(first, last),
                _ => When::Timed(row.starts_at, row.ends_at),
            };
            let facts = SessionFacts {
                id: row.id,
                title: row.title.unwrap_or_else(|| row.activity_title.clone()),
                activity: row.activity_title,
                when,
                zone: Zone::from_stored(&row.program_zone),
                venue_id: row.venue_id,
                venue: row.venue_name,
                address: row.venue_address,
                video_url: row.video_url.or(row.slot_video_url),
                link: String::new(),
                personal_link: None,
                roster: Vec::new(),
            };
            let on = row.status == "scheduled" && row.deleted_at.is_none();
            public.insert(row.id, row.activity_public);
            found.insert(row.id, Subject { facts, on });
        }
        let roster: Vec<RosterRow> = query(
            conn,
            super::dialect::sql(
                &format!(
                    "SELECT g.session_id, p.name, {ROLE_NAME}, g.status, p.mobile \
                     FROM assignments g JOIN volunteers p ON p.id = g.volunteer_id \
                     WHERE g.session_id IN ({list}) AND g.status IN (ACTIVE) ORDER BY g.session_id, g.role_id, g.id"
                ),
                conn.get_database_backend(),
            ),
        )
        .await?;
        for row in roster {
            if let Some(subject) = found.get_mut(&row.session_id) {
                subject.facts.roster.push(OnDuty {
                    name: row.name,
                    role: row.role,
                    status: row.status,
                    mobile: row.mobile,
                });
            }
        }
    }
    for subject in found.values_mut() {
        let id = subject.facts.id;
        subject.facts.link = session_link(public_url, id, public.get(&id).copied().unwrap_or(false));
    }
    Ok(found)
}

/// The volunteers of these assignments, with their role, status and reason.
pub async fn people(
    conn: &impl ConnectionTrait,
    assignment_ids: &[i64],
) -> Result<HashMap<i64, (OnDuty, Option<String>)>> {
    let mut found = HashMap::with_capacity(assignment_ids.len());
    for chunk in assignment_ids.chunks(CHUNK) {
        let rows: Vec<PersonRow> = query(
            conn,
            format!(
                "SELECT g.id, p.name, {ROLE_NAME}, g.status, p.mobile, g.reason \
                 FROM assignments g JOIN volunteers p ON p.id = g.volunteer_id \
                 WHERE g.id IN ({})",
                id_list(chunk)
            ),
        )
        .await?;
        for row in rows {
            let duty = OnDuty {
                name: row.name,
                role: row.role,
                status: row.status,
                mobile: row.mobile,
            };
            found.insert(row.id, (duty, row.reason));
        }
    }
    Ok(found)
}

/// Venue names and addresses by id.
pub async fn venues(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, (String, Option<String>)>> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<VenueRow> = query(
            conn,
            format!("SELECT id, name, address FROM venues WHERE id IN ({})", id_list(chunk)),
        )
        .await?;
        found.extend(rows.into_iter().map(|row| (row.id, (row.name, row.address))));
    }
    Ok(found)
}
