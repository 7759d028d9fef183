//! `sciday import`: restores a backup into an empty database, or upserts a [`Document`] by
//! key, in one transaction.
//!
//! A record whose key exists is updated only if something differs, so importing the same
//! file twice changes nothing (not even a version). Records that are not in the file are
//! left alone. Any invalid record aborts the whole import and names itself, e.g.
//! `sessions[12].ends_at`.

use std::collections::{HashMap, HashSet};
use std::fmt;

use sea_orm::DatabaseTransaction;

use super::format::{Document, READS};
use super::schedule::{self, References};
use super::{restore, staffing};
use crate::db::Db;
use crate::domain::staffing::Violation;
use crate::error::{Error, Result};
use crate::store::Policy;
use crate::store::audit::{Audit, Author};

/// What happened to the records of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// New rows.
    pub created: usize,
    /// Rows that differed and were changed.
    pub updated: usize,
    /// Rows that already matched the file.
    pub unchanged: usize,
}

impl Tally {
    pub(super) fn count(&mut self, created: bool, old_version: Option<i32>, new_version: i32) {
        match (created, old_version) {
            (true, _) => self.created += 1,
            (false, Some(old)) if old == new_version => self.unchanged += 1,
            _ => self.updated += 1,
        }
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} created, {} updated, {} unchanged",
            self.created, self.updated, self.unchanged
        )
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The file was a backup restored into an empty database as it was (otherwise it was
    /// merged by key).
    pub restored: bool,
    pub organizations: Tally,
    pub venues: Tally,
    pub programs: Tally,
    pub activities: Tally,
    pub sessions: Tally,
    pub teams: Tally,
    pub volunteers: Tally,
    pub session_roles: Tally,
    pub assignments: Tally,
    pub api_tokens: usize,
    pub plans: usize,
    pub plan_extensions: usize,
    pub webhooks: usize,
    pub deliveries: usize,
    /// What a merge left out, for people ("3 plans: restored only into an empty database").
    pub left_out: Vec<String>,
}

impl Document {
    /// How many records the document holds.
    pub fn len(&self) -> usize {
        self.organizations.len()
            + self.venues.len()
            + self.programs.len()
            + self.activities.len()
            + self.sessions.len()
            + self.teams.len()
            + self.volunteers.len()
            + self.session_roles.len()
            + self.assignments.len()
            + self.api_tokens.len()
            + self.plans.len()
            + self.plan_extensions.len()
            + self.webhooks.len()
            + self.deliveries.len()
    }

    /// Whether the document holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Imports `document` in one transaction; `tick` is called after each record.
///
/// A backup (a file `export` wrote) going into an empty database is restored as it was;
/// anything else is merged by key.
pub async fn import(db: &Db, document: &Document, policy: Policy, tick: &(dyn Fn() + Sync)) -> Result<Report> {
    if !READS.contains(&document.format.as_str()) {
        return Err(Error::field(
            "format",
            "unsupported_format",
            format!("this version reads {READS:?}, not {:?}", document.format),
        ));
    }
    let backup = restore::is_backup(document)?;
    let txn = db.begin().await?;
    let report = match (backup, restore::holdings(&txn).await?) {
        (true, restore::Holdings::Nothing) => restore::restore(&txn, document, policy.now, tick).await?,
        (true, restore::Holdings::OnlyTokens) => {
            return Err(Error::conflict(
                "not_empty",
                "the database holds API tokens but nothing else: a backup is restored only into an \
                 empty database (its own tokens come back with it), so import it into a new one",
            ));
        }
        _ => merge(&txn, document, policy, tick).await?,
    };
    // Anything may have changed: every feed is read anew.
    crate::store::stamps::raise(&txn, &crate::store::stamps::everything(), policy.now).await?;
    txn.commit().await?;
    Ok(report)
}

/// Upserts the keyed records by key. Deleted sessions (and their roles and assignments) and
/// the keyless records are left out and said so.
async fn merge(
    txn: &DatabaseTransaction,
    document: &Document,
    policy: Policy,
    tick: &(dyn Fn() + Sync),
) -> Result<Report> {
    let now = policy.now;
    let audit = Audit::new(Author::cli(), now);
    let mut report = Report::default();
    let order = dependency_order(
        &document.organizations,
        |r| &r.key,
        |r| r.parent.as_deref(),
        "organizations",
    )?;
    for i in order {
        let record = &document.organizations[i];
        schedule::organization(txn, &audit, record, now, &mut report.organizations)
            .await
            .map_err(within(format!("organizations[{i}]")))?;
        tick();
    }
    let mut venue_by_key = HashMap::new();
    for (i, record) in document.venues.iter().enumerate() {
        let venue = schedule::venue(txn, &audit, record, now, &mut report.venues)
            .await
            .map_err(within(format!("venues[{i}]")))?;
        venue_by_key.insert(venue.key.clone(), venue);
        tick();
    }
    for (i, record) in document.programs.iter().enumerate() {
        schedule::program(txn, &audit, record, now, &mut report.programs)
            .await
            .map_err(within(format!("programs[{i}]")))?;
        tick();
    }
    let mut activity_by_key = HashMap::new();
    for (i, record) in document.activities.iter().enumerate() {
        let activity = schedule::activity(txn, &audit, record, now, &mut report.activities)
            .await
            .map_err(within(format!("activities[{i}]")))?;
        activity_by_key.insert(activity.key.clone(), activity);
        tick();
    }
    let order = dependency_order(
        &document.sessions,
        |r| &r.key,
        |r| r.linked_session.as_deref(),
        "sessions",
    )?;
    let mut references = References {
        venues: venue_by_key,
        activities: activity_by_key,
    };
    let mut gone: HashSet<&str> = HashSet::new();
    for i in order {
        let record = &document.sessions[i];
        if record.deleted_at.is_some() {
            gone.insert(record.key.as_str());
            continue;
        }
        schedule::session(txn, &audit, record, &mut references, policy, &mut report.sessions)
            .await
            .map_err(within(format!("sessions[{i}]")))?;
        tick();
    }
    let order = dependency_order(&document.teams, |r| &r.key, |r| r.parent.as_deref(), "teams")?;
    for i in order {
        staffing::team(txn, &audit, &document.teams[i], now, &mut report.teams)
            .await
            .map_err(within(format!("teams[{i}]")))?;
        tick();
    }
    for (i, record) in document.volunteers.iter().enumerate() {
        staffing::volunteer(txn, &audit, record, now, &mut report.volunteers)
            .await
            .map_err(within(format!("volunteers[{i}]")))?;
        tick();
    }
    let mut gone_roles: HashSet<&str> = HashSet::new();
    for (i, record) in document.session_roles.iter().enumerate() {
        if gone.contains(record.session.as_str()) {
            gone_roles.insert(record.key.as_str());
            continue;
        }
        staffing::role(txn, &audit, record, now, &mut report.session_roles)
            .await
            .map_err(within(format!("session_roles[{i}]")))?;
        tick();
    }
    for (i, record) in document.assignments.iter().enumerate() {
        if gone_roles.contains(record.role.as_str()) {
            continue;
        }
        staffing::assignment(txn, &audit, record, policy, &mut report.assignments)
            .await
            .map_err(within(format!("assignments[{i}]")))?;
        tick();
    }
    if !gone.is_empty() {
        report.left_out.push(format!(
            "{} deleted session(s), with their roles and assignments",
            gone.len()
        ));
    }
    for (count, what) in [
        (document.api_tokens.len(), "API token(s)"),
        (document.plans.len(), "plan(s)"),
        (document.plan_extensions.len(), "plan extension(s)"),
        (document.webhooks.len(), "webhook subscription(s)"),
        (document.deliveries.len(), "outbox message(s)"),
        (
            document.session_changes.len(),
            "session change(s) (the history on session pages)",
        ),
        (document.audit_entries.len(), "audit trail entry(ies)"),
    ] {
        if count > 0 {
            report
                .left_out
                .push(format!("{count} {what}: restored only into an empty database"));
        }
    }
    Ok(report)
}

pub(super) fn missing(field: &str, what: &str, key: &str) -> Error {
    Error::field(
        field,
        "not_found",
        format!("there is no {what} with key {key:?} in the file or the database"),
    )
}

/// Names the record an error belongs to.
pub(super) fn within(prefix: String) -> impl FnOnce(Error) -> Error {
    move |error| match error {
        Error::Validation(problems) => Error::Validation(problems.into_iter().map(|p| p.within(&prefix)).collect()),
        Error::Conflict { code, detail } => Error::Conflict {
            code,
            detail: format!("{prefix}: {detail}"),
        },
        Error::Refused(violations) => Error::Refused(
            violations
                .into_iter()
                .map(|v| Violation {
                    message: format!("{prefix}: {}", v.message),
                    ..v
                })
                .collect(),
        ),
        other => other,
    }
}

/// The order in which to write records so that each one's dependency (a parent, a linked
/// slot) named in the same file is written first. Keys must be unique in the file, and
/// dependencies must not form a loop.
pub(super) fn dependency_order<T>(
    records: &[T],
    key_of: impl Fn(&T) -> &String,
    depends_on: impl Fn(&T) -> Option<&str>,
    kind: &str,
) -> Result<Vec<usize>> {
    let mut index = HashMap::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        if index.insert(key_of(record).as_str(), i).is_some() {
            return Err(Error::field(
                format!("{kind}[{i}].key"),
                "duplicate_key",
                format!("key {:?} appears more than once", key_of(record)),
            ));
        }
    }
    // 0 = not yet placed, 1 = being placed (on the current path), 2 = placed.
    let mut state = vec![0u8; records.len()];
    let mut order = Vec::with_capacity(records.len());
    for start in 0..records.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match state[i] {
                2 => break,
                1 => {
                    return Err(Error::field(
                        format!("{kind}[{i}]"),
                        "cycle",
                        "the records refer to each other in a circle",
                    ));
                }
                _ => {}
            }
            state[i] = 1;
            path.push(i);
            at = depends_on(&records[i]).and_then(|key| index.get(key).copied());
        }
        for &i in path.iter().rev() {
            state[i] = 2;
            order.push(i);
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(pairs: &[(&str, Option<&str>)]) -> Result<Vec<usize>> {
        let records: Vec<(String, Option<&str>)> = pairs.iter().map(|(k, d)| ((*k).to_owned(), *d)).collect();
        dependency_order(&records, |r| &r.0, |r| r.1, "records")
    }

    #[test]
    fn dependencies_come_first_whatever_the_file_order() {
        let order = order(&[("child", Some("parent")), ("parent", Some("root")), ("root", None)]).unwrap();
        assert_eq!(order, vec![2, 1, 0]);
    }

    #[test]
    fn dependencies_outside_the_file_are_left_to_the_database() {
        assert_eq!(order(&[("a", Some("in-database"))]).unwrap(), vec![0]);
    }

    #[test]
    fn loops_and_duplicate_keys_are_refused() {
        let looped = order(&[("a", Some("b")), ("b", Some("a"))]).unwrap_err();
        assert!(matches!(looped, Error::Validation(ref p) if p[0].code == "cycle"));
        let twice = order(&[("a", None), ("a", None)]).unwrap_err();
        assert!(matches!(twice, Error::Validation(ref p) if p[0].field == "records[1].key"));
    }
}
