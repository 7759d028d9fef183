//! What still refers to a record. A delete that other rows depend on is refused with a 409
//! that names each kind of dependent and how many, before the database would refuse it on a
//! foreign key; the table below is checked against the schema's foreign keys by a test, so a
//! new reference cannot be forgotten here.

use sea_orm::{ConnectionTrait, Statement, Value};

use super::dialect::sql;
use crate::error::{Error, Result};

/// A kind of record that others refer to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Referenced {
    Organization,
    Venue,
    Program,
    Activity,
    Team,
    Volunteer,
    SessionRole,
}

/// A column that refers to a record, and what people call the rows that hold it.
#[derive(Clone, Copy, Debug)]
pub struct Reference {
    /// The referring table.
    pub table: &'static str,
    /// Its column that holds the record's id.
    pub column: &'static str,
    /// The referring rows, as the 409 names them.
    pub what: &'static str,
}

const fn reference(table: &'static str, column: &'static str, what: &'static str) -> Reference {
    Reference { table, column, what }
}

impl Referenced {
    /// The referenced table.
    pub fn table(self) -> &'static str {
        match self {
            Self::Organization => "organizations",
            Self::Venue => "venues",
            Self::Program => "programs",
            Self::Activity => "activities",
            Self::Team => "teams",
            Self::Volunteer => "volunteers",
            Self::SessionRole => "session_roles",
        }
    }

    /// Every column that keeps a row of this kind from being deleted (references that cascade
    /// or are cleared with it are not listed).
    pub fn references(self) -> &'static [Reference] {
        match self {
            Self::Organization => ORGANIZATION,
            Self::Venue => VENUE,
            Self::Program => PROGRAM,
            Self::Activity => ACTIVITY,
            Self::Team => TEAM,
            Self::Volunteer => VOLUNTEER,
            Self::SessionRole => SESSION_ROLE,
        }
    }
}

const ORGANIZATION: &[Reference] = &[
    reference("organizations", "parent_id", "sub-organizations"),
    reference("programs", "host_organization_id", "programs"),
    reference("activities", "organization_id", "activities"),
    reference("venues", "organization_id", "venues"),
    reference("api_tokens", "organization_id", "API tokens"),
    reference("teams", "organization_id", "teams"),
    reference("volunteers", "organization_id", "volunteers"),
    reference("webhooks", "organization_id", "webhook subscriptions"),
    reference("plans", "organization_id", "preparation plans"),
];
const VENUE: &[Reference] = &[
    reference("sessions", "venue_id", "sessions"),
    reference("plans", "venue_id", "preparation plans naming it as their platform"),
];
const PROGRAM: &[Reference] = &[
    reference("activities", "program_id", "activities"),
    reference("sessions", "program_id", "sessions"),
    reference("plans", "program_id", "preparation plans"),
];
const ACTIVITY: &[Reference] = &[reference("sessions", "activity_id", "sessions")];
const TEAM: &[Reference] = &[
    reference("teams", "parent_id", "sub-teams"),
    reference("team_memberships", "team_id", "members"),
    reference("session_roles", "team_id", "session roles requiring it"),
];
const VOLUNTEER: &[Reference] = &[reference("assignments", "volunteer_id", "assignments, kept as history")];
const SESSION_ROLE: &[Reference] = &[reference("assignments", "role_id", "assignments, kept as history")];

/// How many rows of each kind still refer to record `id`, for the kinds with any.
pub async fn count(conn: &impl ConnectionTrait, referenced: Referenced, id: i64) -> Result<Vec<(u64, &'static str)>> {
    let references = referenced.references();
    let columns: Vec<String> = references
        .iter()
        .enumerate()
        .map(|(i, r)| format!("(SELECT COUNT(*) FROM {} WHERE {} = $1) AS n{i}", r.table, r.column))
        .collect();
    let backend = conn.get_database_backend();
    let statement = Statement::from_sql_and_values(
        backend,
        sql(&format!("SELECT {}", columns.join(", ")), backend),
        [Value::from(id)],
    );
    let row = conn
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a count answered no row")))?;
    let mut uses = Vec::new();
    for (i, reference) in references.iter().enumerate() {
        let n: i64 = row.try_get("", &format!("n{i}"))?;
        if n > 0 {
            uses.push((u64::try_from(n).unwrap_or_default(), reference.what));
        }
    }
    Ok(uses)
}

/// Fails with 409 `in-use`, naming every kind of row that still refers to record `id`.
pub async fn refuse_if_used(conn: &impl ConnectionTrait, referenced: Referenced, id: i64, noun: &str) -> Result<()> {
    let uses = count(conn, referenced, id).await?;
    if uses.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = uses.iter().map(|(n, what)| format!("{n} {what}")).collect();
    Err(Error::InUse(format!(
        "the {noun} is still used by {}",
        listed.join(", ")
    )))
}
