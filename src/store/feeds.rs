//! The rows behind a calendar feed: the sessions in scope and window with their activity,
//! venue, organizer and the slot they follow, and — for team and personal feeds — the
//! assignments and roles.
//!
//! Two statements share one `FROM … WHERE …`: [`events`] reads whole rows, [`stamps`] only
//! each row's id, times and versions, which is enough to tell which events a feed already
//! rendered are still as they were. Every write raises the versions of the records it
//! changes, so equal versions mean an equal event.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, QueryResult, Statement, Value};

use super::dialect::sql;
use super::sessions::StoredTimes;
use crate::error::Result;

/// Which sessions a feed shows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The public sessions of a program.
    Program(i64),
    /// The sessions of a public activity.
    Activity(i64),
    /// The public sessions at a venue.
    Venue(i64),
    /// The public sessions of activities organized by the organization at this path or
    /// below it.
    Organization(String),
    /// The public sessions that members of the team at this path, or of its sub-teams, are
    /// assigned to (one row per assignment).
    Team(String),
    /// Every session a volunteer is assigned to (one row per assignment).
    Volunteer(i64),
    /// One session of a public activity (its page).
    Session(i64),
    /// Every assignment of the members of the team at this path or its sub-teams, public or
    /// not (the roster its leader sees).
    Members(String),
}

impl Scope {
    /// Rows are assignments rather than sessions.
    pub fn is_staffed(&self) -> bool {
        matches!(self, Self::Team(_) | Self::Volunteer(_) | Self::Members(_))
    }

    fn condition(&self) -> &'static str {
        match self {
            Self::Program(_) => "a.public = TRUE AND s.program_id = $4",
            Self::Activity(_) => "a.public = TRUE AND s.activity_id = $4",
            Self::Venue(_) => "a.public = TRUE AND s.venue_id = $4",
            Self::Organization(_) => {
                "a.public = TRUE AND a.organization_id IN (SELECT id FROM organizations WHERE path LIKE $4)"
            }
            Self::Team(_) => {
                "a.public = TRUE AND g.volunteer_id IN (SELECT m.volunteer_id FROM team_memberships m \
                 JOIN teams t ON t.id = m.team_id WHERE t.path LIKE $4)"
            }
            Self::Volunteer(_) => "g.volunteer_id = $4",
            Self::Session(_) => "a.public = TRUE AND s.id = $4",
            Self::Members(_) => {
                "g.volunteer_id IN (SELECT m.volunteer_id FROM team_memberships m \
                 JOIN teams t ON t.id = m.team_id WHERE t.path LIKE $4)"
            }
        }
    }

    fn value(&self) -> Value {
        match self {
            Self::Program(id) | Self::Activity(id) | Self::Venue(id) | Self::Volunteer(id) | Self::Session(id) => {
                Value::from(*id)
            }
            // Paths are digits and slashes, so LIKE needs no escaping.
            Self::Organization(path) | Self::Team(path) | Self::Members(path) => Value::from(format!("{path}%")),
        }
    }
}

/// Which part of time a feed covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// Sessions ending after this.
    pub from: DateTime<Utc>,
    /// Sessions starting before this.
    pub to: DateTime<Utc>,
    /// Cancelled and deleted sessions stay until this long after their end; those that
    /// ended before this instant are left out.
    pub cancelled_since: DateTime<Utc>,
}

const FROM: &str = "\
FROM sessions s \
JOIN activities a ON a.id = s.activity_id \
JOIN venues v ON v.id = s.venue_id \
JOIN organizations o ON o.id = a.organization_id \
LEFT JOIN sessions k ON k.id = s.linked_session_id";

const STAFFED: &str = " JOIN assignments g ON g.session_id = s.id JOIN session_roles r ON r.id = g.role_id";

const WHERE: &str = " WHERE s.ends_at > $1 AND s.starts_at < $2 \
AND ((s.status = 'scheduled' AND s.deleted_at IS NULL) OR s.ends_at > $3) AND ";

const EVENT_COLUMNS: &str = "SELECT s.id, s.activity_id, s.venue_id, a.organization_id, s.linked_session_id, s.title, s.description, s.time_zone, s.all_day, s.starts_at, s.ends_at, \
s.start_date, s.end_date, s.status, s.deleted_at, s.sequence, s.video_url, s.updated_at, \
a.title AS activity_title, a.description AS activity_description, a.kind AS activity_kind, a.service_kinds, \
a.updated_at AS activity_updated_at, a.public AS activity_public, \
v.name AS venue_name, v.address AS venue_address, v.latitude, v.longitude, v.updated_at AS venue_updated_at, \
o.name AS organizer_name, o.contact_name, o.contact_office_phone, o.contact_email, \
o.updated_at AS organizer_updated_at, \
k.video_url AS slot_video_url, k.updated_at AS slot_updated_at, \
s.version AS s_version, a.version AS a_version, v.version AS v_version, o.version AS o_version, \
COALESCE(k.version, 0) AS k_version ";

const ASSIGNMENT_COLUMNS: &str = ", g.id AS assignment_id, g.status AS assignment_status, \
g.version AS assignment_version, g.updated_at AS assignment_updated_at, \
r.name AS role_name, r.version AS role_version, r.updated_at AS role_updated_at ";

const STAMP_COLUMNS: &str = "SELECT s.id, s.time_zone, s.all_day, s.starts_at, s.ends_at, s.start_date, s.end_date, \
s.version AS s_version, a.version AS a_version, v.version AS v_version, o.version AS o_version, \
COALESCE(k.version, 0) AS k_version ";

const ASSIGNMENT_STAMP_COLUMNS: &str = ", g.id AS assignment_id, g.version AS assignment_version, \
r.version AS role_version ";

/// What a statement reads of the rows.
#[derive(Clone, Copy)]
enum Read {
    Events,
    Stamps,
}

fn statement(
    conn: &impl ConnectionTrait,
    read: Read,
    scope: &Scope,
    window: &Window,
    sessions: Option<&[i64]>,
    limit: Option<usize>,
) -> Statement {
    let backend = conn.get_database_backend();
    let mut text = String::with_capacity(1024);
    let (columns, staffed_columns) = match read {
        Read::Events => (EVENT_COLUMNS, ASSIGNMENT_COLUMNS),
        Read::Stamps => (STAMP_COLUMNS, ASSIGNMENT_STAMP_COLUMNS),
    };
    text.push_str(columns);
    if scope.is_staffed() {
        text.push_str(staffed_columns);
    }
    text.push_str(FROM);
    if scope.is_staffed() {
        text.push_str(STAFFED);
    }
    text.push_str(WHERE);
    text.push_str(scope.condition());
    let mut values = vec![
        Value::from(window.from),
        Value::from(window.to),
        Value::from(window.cancelled_since),
        scope.value(),
    ];
    if let Some(ids) = sessions {
        let list = (5..5 + ids.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        text.push_str(&format!(" AND s.id IN ({list})"));
        values.extend(ids.iter().map(|id| Value::from(*id)));
    }
    text.push_str(if scope.is_staffed() {
        " ORDER BY s.starts_at, s.id, g.id"
    } else {
        " ORDER BY s.starts_at, s.id"
    });
    if let Some(limit) = limit {
        text.push_str(&format!(" LIMIT {limit}"));
    }
    Statement::from_sql_and_values(backend, sql(&text, backend), values)
}

/// The versions of the records one event shows: its session, activity, venue, organizer and
/// the slot it follows (0 when none).
pub type Versions = [i32; 5];

/// What a row of a feed is, without its text: enough to place its event in time and to tell
/// whether an event rendered before is still current.
#[derive(Clone, Debug)]
pub struct EventStamp {
    /// Session id.
    pub id: i64,
    /// When.
    pub times: StoredTimes,
    /// The versions of the records the event shows.
    pub versions: Versions,
    /// For team and personal feeds: the assignment's id and version, and its role's version.
    pub assignment: Option<(i64, i32, i32)>,
}

/// The stamps of a feed's rows in start order, at most `limit` of them.
pub async fn stamps(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    window: &Window,
    limit: usize,
) -> Result<Vec<EventStamp>> {
    let rows = conn
        .query_all_raw(statement(conn, Read::Stamps, scope, window, None, Some(limit)))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(EventStamp {
                id: row.try_get("", "id")?,
                times: StoredTimes::from_row(row)?,
                versions: versions(row)?,
                assignment: if scope.is_staffed() {
                    Some((
                        row.try_get("", "assignment_id")?,
                        row.try_get("", "assignment_version")?,
                        row.try_get("", "role_version")?,
                    ))
                } else {
                    None
                },
            })
        })
        .collect()
}

fn versions(row: &QueryResult) -> Result<Versions> {
    Ok([
        row.try_get("", "s_version")?,
        row.try_get("", "a_version")?,
        row.try_get("", "v_version")?,
        row.try_get("", "o_version")?,
        row.try_get("", "k_version")?,
    ])
}

/// One session as a feed shows it, with the assignment for team and personal feeds.
#[derive(Clone, Debug)]
pub struct EventRow {
    /// Session id.
    pub id: i64,
    /// Its activity.
    pub activity_id: i64,
    /// Its venue.
    pub venue_id: i64,
    /// The activity's organizer.
    pub organization_id: i64,
    /// The remote slot it follows (the Beijing main venue's video link).
    pub linked_session_id: Option<i64>,
    /// Session title, when it differs from the activity's.
    pub title: Option<String>,
    /// Session details.
    pub description: Option<String>,
    /// When.
    pub times: StoredTimes,
    /// Called off, or deleted.
    pub cancelled: bool,
    /// Deleted.
    pub deleted: bool,
    /// iCalendar SEQUENCE of the session.
    pub sequence: i32,
    /// The session's own video link.
    pub video_url: Option<String>,
    /// The video link of the slot it follows.
    pub slot_video_url: Option<String>,
    /// Activity title.
    pub activity_title: String,
    /// Activity description.
    pub activity_description: Option<String>,
    /// `main` or `series`.
    pub activity_kind: String,
    /// The activity is public (it has pages).
    pub activity_public: bool,
    /// Kinds of service the activity offers.
    pub service_kinds: Vec<String>,
    /// Venue name.
    pub venue_name: String,
    /// Venue address.
    pub venue_address: Option<String>,
    /// Venue coordinates.
    pub geo: Option<(f64, f64)>,
    /// Organizer name.
    pub organizer_name: String,
    /// Organizer contact person, as published.
    pub contact_name: Option<String>,
    /// Organizer office phone, as published.
    pub contact_office_phone: Option<String>,
    /// Organizer e-mail, as published.
    pub contact_email: Option<String>,
    /// The latest change to anything this row shows.
    pub changed: DateTime<Utc>,
    /// The versions of the records this row shows.
    pub versions: Versions,
    /// For team and personal feeds.
    pub assignment: Option<AssignmentPart>,
}

/// The assignment side of a staffed row.
#[derive(Clone, Debug)]
pub struct AssignmentPart {
    /// Assignment id.
    pub id: i64,
    /// Stored status (`proposed`, `confirmed`, …).
    pub status: String,
    /// Assignment version.
    pub version: i32,
    /// Role name.
    pub role: String,
    /// Role version.
    pub role_version: i32,
}

impl EventRow {
    fn from_row(row: &QueryResult, staffed: bool) -> Result<Self> {
        let status: String = row.try_get("", "status")?;
        let deleted_at: Option<DateTime<Utc>> = row.try_get("", "deleted_at")?;
        let latitude: Option<f64> = row.try_get("", "latitude")?;
        let longitude: Option<f64> = row.try_get("", "longitude")?;
        let service_kinds: serde_json::Value = row.try_get("", "service_kinds")?;
        let mut changed: DateTime<Utc> = row.try_get("", "updated_at")?;
        for column in [
            "activity_updated_at",
            "venue_updated_at",
            "organizer_updated_at",
            "slot_updated_at",
        ] {
            changed = changed.max(row.try_get::<Option<DateTime<Utc>>>("", column)?.unwrap_or(changed));
        }
        let assignment = if staffed {
            for column in ["assignment_updated_at", "role_updated_at"] {
                changed = changed.max(row.try_get("", column)?);
            }
            Some(AssignmentPart {
                id: row.try_get("", "assignment_id")?,
                status: row.try_get("", "assignment_status")?,
                version: row.try_get("", "assignment_version")?,
                role: row.try_get("", "role_name")?,
                role_version: row.try_get("", "role_version")?,
            })
        } else {
            None
        };
        Ok(Self {
            id: row.try_get("", "id")?,
            activity_id: row.try_get("", "activity_id")?,
            venue_id: row.try_get("", "venue_id")?,
            organization_id: row.try_get("", "organization_id")?,
            linked_session_id: row.try_get("", "linked_session_id")?,
            title: row.try_get("", "title")?,
            description: row.try_get("", "description")?,
            times: StoredTimes::from_row(row)?,
            cancelled: status != "scheduled" || deleted_at.is_some(),
            deleted: deleted_at.is_some(),
            sequence: row.try_get("", "sequence")?,
            video_url: row.try_get("", "video_url")?,
            slot_video_url: row.try_get("", "slot_video_url")?,
            activity_title: row.try_get("", "activity_title")?,
            activity_description: row.try_get("", "activity_description")?,
            activity_kind: row.try_get("", "activity_kind")?,
            activity_public: row.try_get("", "activity_public")?,
            service_kinds: serde_json::from_value(service_kinds).unwrap_or_default(),
            venue_name: row.try_get("", "venue_name")?,
            venue_address: row.try_get("", "venue_address")?,
            geo: latitude.zip(longitude),
            organizer_name: row.try_get("", "organizer_name")?,
            contact_name: row.try_get("", "contact_name")?,
            contact_office_phone: row.try_get("", "contact_office_phone")?,
            contact_email: row.try_get("", "contact_email")?,
            changed,
            versions: versions(row)?,
            assignment,
        })
    }
}

/// The feed's rows in start order (and assignment order within a session).
pub async fn events(conn: &impl ConnectionTrait, scope: &Scope, window: &Window) -> Result<Vec<EventRow>> {
    read_events(conn, scope, window, None).await
}

/// The feed's rows of the sessions `ids` only, in start order.
pub async fn events_of(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    window: &Window,
    ids: &[i64],
) -> Result<Vec<EventRow>> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(500) {
        rows.extend(read_events(conn, scope, window, Some(chunk)).await?);
    }
    Ok(rows)
}

async fn read_events(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    window: &Window,
    sessions: Option<&[i64]>,
) -> Result<Vec<EventRow>> {
    let rows = conn
        .query_all_raw(statement(conn, Read::Events, scope, window, sessions, None))
        .await?;
    rows.iter()
        .map(|row| EventRow::from_row(row, scope.is_staffed()))
        .collect()
}

/// A plan deadline an organization's feed shows: the programs of the associations above it
/// that expect a plan from it, and those it hosts itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeadlineRow {
    /// The program.
    pub program_id: i64,
    /// The organization whose feed it is.
    pub organization_id: i64,
    /// Program name.
    pub program: String,
    /// The program's zone.
    pub time_zone: String,
    /// The deadline for this organization: the program's, or its extension's when later.
    pub due: DateTime<Utc>,
    /// Whether the organization hosts the program (and so collects the plans).
    pub host: bool,
    /// The latest change to the program or the extension.
    pub changed: DateTime<Utc>,
    /// Raised whenever the program or the extension changes.
    pub sequence: i32,
}

/// The plan deadlines the feed of `organization` shows, by program. The feed is public, so it
/// says when the organization's plan is due, never whether it came in (that list is admins').
pub async fn plan_deadlines(
    conn: &impl ConnectionTrait,
    organization: &entity::organization::Model,
) -> Result<Vec<DeadlineRow>> {
    use entity::kinds::OrganizationKind;
    use entity::prelude::{PlanExtension, Program};
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

    let chain: Vec<i64> = organization.path.split('/').filter_map(|id| id.parse().ok()).collect();
    let expected = organization.kind == OrganizationKind::CountyAssociation || organization.plan_expected;
    let programs = Program::find()
        .filter(entity::program::Column::HostOrganizationId.is_in(chain))
        .filter(entity::program::Column::PlanDeadline.is_not_null())
        .order_by_asc(entity::program::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .filter(|p| p.host_organization_id == organization.id || expected)
        .collect::<Vec<_>>();
    if programs.is_empty() {
        return Ok(Vec::new());
    }
    let program_ids: Vec<i64> = programs.iter().map(|p| p.id).collect();
    let extensions: std::collections::HashMap<i64, entity::plan_extension::Model> = PlanExtension::find()
        .filter(entity::plan_extension::Column::OrganizationId.eq(organization.id))
        .filter(entity::plan_extension::Column::ProgramId.is_in(program_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|e| (e.program_id, e))
        .collect();
    Ok(programs
        .into_iter()
        .filter_map(|program| {
            let deadline = program.plan_deadline?;
            let host = program.host_organization_id == organization.id;
            let extension = extensions.get(&program.id).filter(|_| !host);
            let due = extension.map_or(deadline, |e| e.until.max(deadline));
            let changed = extension.map_or(program.updated_at, |e| e.updated_at.max(program.updated_at));
            Some(DeadlineRow {
                program_id: program.id,
                organization_id: organization.id,
                program: program.name,
                time_zone: program.time_zone,
                due,
                host,
                changed,
                sequence: program.version + extension.map_or(0, |e| e.version),
            })
        })
        .collect())
}
