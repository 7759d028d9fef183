//! A backup restored into an empty database as it was: every row with its id (so the API's
//! addresses and calendar links still work), its version and timestamps (so ETags and
//! `LAST-MODIFIED` hold), each session's calendar `SEQUENCE`, and assignments with their
//! flags and overrides exactly as stored — not judged again, since the rules they break were
//! broken, flagged or set aside on purpose before the backup was made.
//!
//! Every field is checked as a merge checks it, and every reference must name a record in the
//! file; the first problem aborts the restore, which runs in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, Statement};

use super::format::{Document, Stored};
use super::import::Report;
use crate::error::{Error, Result};

mod backup;
mod rows;

/// Whether `document` is a backup (every keyed record carries its `stored` identity) rather
/// than a file written by hand. A file that mixes the two is refused.
pub fn is_backup(document: &Document) -> Result<bool> {
    let marks: [(&str, Vec<bool>); 9] = [
        (
            "organizations",
            document.organizations.iter().map(|r| r.stored.is_some()).collect(),
        ),
        ("venues", document.venues.iter().map(|r| r.stored.is_some()).collect()),
        (
            "programs",
            document.programs.iter().map(|r| r.stored.is_some()).collect(),
        ),
        (
            "activities",
            document.activities.iter().map(|r| r.stored.is_some()).collect(),
        ),
        (
            "sessions",
            document.sessions.iter().map(|r| r.stored.is_some()).collect(),
        ),
        ("teams", document.teams.iter().map(|r| r.stored.is_some()).collect()),
        (
            "volunteers",
            document.volunteers.iter().map(|r| r.stored.is_some()).collect(),
        ),
        (
            "session_roles",
            document.session_roles.iter().map(|r| r.stored.is_some()).collect(),
        ),
        (
            "assignments",
            document.assignments.iter().map(|r| r.stored.is_some()).collect(),
        ),
    ];
    let with = marks.iter().any(|(_, m)| m.iter().any(|s| *s));
    if !with {
        return Ok(false);
    }
    for (section, m) in &marks {
        if let Some(i) = m.iter().position(|s| !s) {
            return Err(Error::field(
                format!("{section}[{i}].stored"),
                "missing",
                "other records carry their stored id, so this one must too (a backup is restored whole)",
            ));
        }
    }
    Ok(true)
}

/// What a database holds, as far as a restore cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holdings {
    /// Not a row: a backup can go in as it was.
    Nothing,
    /// API tokens (made to get started), the trail of their making, and nothing else.
    OnlyTokens,
    /// Data.
    Data,
}

/// Whether the database holds rows a backup's rows could collide with.
pub async fn holdings(conn: &impl ConnectionTrait) -> Result<Holdings> {
    let mut tokens = false;
    for table in TABLES {
        let row = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("SELECT 1 AS found FROM {table} LIMIT 1"),
            ))
            .await?;
        match (row.is_some(), table) {
            (false, _) => {}
            // The trail of those tokens' making comes with them.
            (true, "api_tokens" | "audit_entries") => tokens = true,
            (true, _) => return Ok(Holdings::Data),
        }
    }
    Ok(if tokens {
        Holdings::OnlyTokens
    } else {
        Holdings::Nothing
    })
}

/// Every table a backup writes, parents before children.
const TABLES: [&str; 23] = [
    "organizations",
    "venues",
    "programs",
    "activities",
    "sessions",
    "teams",
    "volunteers",
    "team_memberships",
    "qualifications",
    "unavailabilities",
    "api_tokens",
    "session_roles",
    "assignments",
    "plans",
    "plan_revisions",
    "plan_attachments",
    "plan_extensions",
    "webhooks",
    "deliveries",
    "delivery_attempts",
    "session_changes",
    "page_actions",
    "audit_entries",
];

/// Restores `document` (a backup) into the empty database behind `txn`.
pub async fn restore(
    txn: &DatabaseTransaction,
    document: &Document,
    now: DateTime<Utc>,
    tick: &(dyn Fn() + Sync),
) -> Result<Report> {
    let mut report = Report {
        restored: true,
        ..Report::default()
    };
    let ids = rows::restore(txn, document, &mut report, tick).await?;
    backup::tokens(txn, document, &ids, now, &mut report).await?;
    rows::staffing(txn, document, &ids, &mut report, tick).await?;
    // Assignments come back as they were, in bulk: each volunteer's time is added up once.
    crate::store::program_hours::rebuild(txn, None).await?;
    backup::restore(txn, document, &ids, &mut report, tick).await?;
    continue_sequences(txn).await?;
    Ok(report)
}

/// The ids of the file's records, by key, for each kind.
#[derive(Default)]
pub(super) struct Ids {
    pub organizations: HashMap<String, i64>,
    pub venues: HashMap<String, i64>,
    pub programs: HashMap<String, i64>,
    pub activities: HashMap<String, i64>,
    pub sessions: HashMap<String, i64>,
    pub teams: HashMap<String, i64>,
    pub volunteers: HashMap<String, i64>,
    pub tokens: std::collections::HashSet<i64>,
}

/// The id of the record `key` of a kind, or an error naming `field`.
pub(super) fn id_of(ids: &HashMap<String, i64>, field: &str, what: &str, key: &str) -> Result<i64> {
    ids.get(key).copied().ok_or_else(|| {
        Error::field(
            field,
            "not_found",
            format!("there is no {what} with key {key:?} in the file"),
        )
    })
}

/// Collects the ids of one kind's records, refusing a key or an id given twice.
pub(super) fn index<'a>(
    section: &str,
    records: impl Iterator<Item = (&'a str, Option<Stored>)>,
) -> Result<HashMap<String, i64>> {
    let mut ids = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for (i, (key, stored)) in records.enumerate() {
        let id = stored.map(|s| s.id).unwrap_or_default();
        if ids.insert(key.to_owned(), id).is_some() {
            return Err(Error::field(
                format!("{section}[{i}].key"),
                "duplicate_key",
                format!("the key {key:?} is given twice"),
            ));
        }
        if !seen.insert(id) {
            return Err(Error::field(
                format!("{section}[{i}].stored.id"),
                "duplicate_id",
                format!("the id {id} is given twice"),
            ));
        }
    }
    Ok(ids)
}

/// On PostgreSQL, moves each id sequence past the restored ids, so the next row created gets
/// a fresh one. (SQLite's AUTOINCREMENT keeps count of explicit ids by itself.)
async fn continue_sequences(txn: &DatabaseTransaction) -> Result<()> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    for table in TABLES.iter().filter(|t| **t != "team_memberships") {
        txn.execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            ),
        ))
        .await?;
    }
    Ok(())
}
