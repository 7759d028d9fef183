//! Restoring the keyed records: organizations, venues, programs, activities, sessions,
//! teams, volunteers, session roles and assignments.

use std::collections::HashMap;

use entity::{activity, assignment, organization, program, session, session_role, team, venue, volunteer};
use sea_orm::{DatabaseTransaction, Set};

use super::{Ids, id_of, index};
use crate::domain::zone::Zone;
use crate::error::{Error, Result};
use crate::store::{Fields, insert_all, tree};
use crate::transfer::format::{Document, Stored};
use crate::transfer::import::{Report, dependency_order, within};
use crate::transfer::schedule::{activity_fields, organization_fields, program_fields, session_fields, venue_fields};
use crate::transfer::staffing::{assignment_fields, role_fields, team_fields, volunteer_fields};

/// Sets a row's id, version and timestamps as they were stored.
macro_rules! as_stored {
    ($row:expr, $stored:expr) => {{
        let stored: Stored = $stored;
        $row.id = Set(stored.id);
        $row.version = Set(stored.version);
        $row.created_at = Set(stored.created_at);
        $row.updated_at = Set(stored.updated_at);
    }};
}

/// The `stored` of a record that [`super::is_backup`] found to have one.
fn stored(value: Option<Stored>) -> Stored {
    value.unwrap_or(Stored {
        id: 0,
        version: 1,
        created_at: chrono::DateTime::UNIX_EPOCH,
        updated_at: chrono::DateTime::UNIX_EPOCH,
    })
}

/// The materialized paths of a tree restored parents first, by key.
#[derive(Default)]
struct Paths<'a>(HashMap<&'a str, String>);

impl<'a> Paths<'a> {
    /// The path of row `id` under `parent`, remembered for its children.
    fn place(&mut self, key: &'a str, parent: Option<&str>, id: i64) -> String {
        let path = tree::child_path(parent.and_then(|p| self.0.get(p)).map(String::as_str), id);
        self.0.insert(key, path.clone());
        path
    }
}

pub(super) async fn restore(
    txn: &DatabaseTransaction,
    document: &Document,
    report: &mut Report,
    tick: &(dyn Fn() + Sync),
) -> Result<Ids> {
    let ids = Ids {
        organizations: index(
            "organizations",
            document.organizations.iter().map(|r| (r.key.as_str(), r.stored)),
        )?,
        venues: index("venues", document.venues.iter().map(|r| (r.key.as_str(), r.stored)))?,
        programs: index("programs", document.programs.iter().map(|r| (r.key.as_str(), r.stored)))?,
        activities: index(
            "activities",
            document.activities.iter().map(|r| (r.key.as_str(), r.stored)),
        )?,
        sessions: index("sessions", document.sessions.iter().map(|r| (r.key.as_str(), r.stored)))?,
        teams: index("teams", document.teams.iter().map(|r| (r.key.as_str(), r.stored)))?,
        volunteers: index(
            "volunteers",
            document.volunteers.iter().map(|r| (r.key.as_str(), r.stored)),
        )?,
        tokens: document.api_tokens.iter().map(|t| t.id).collect(),
    };
    index(
        "session_roles",
        document.session_roles.iter().map(|r| (r.key.as_str(), r.stored)),
    )?;
    index(
        "assignments",
        document.assignments.iter().map(|r| (r.key.as_str(), r.stored)),
    )?;

    organizations(txn, document, &ids, report, tick).await?;
    let zones = venues(txn, document, &ids, report, tick).await?;
    for (i, record) in document.programs.iter().enumerate() {
        let at = format!("programs[{i}]");
        let host = id_of(
            &ids.organizations,
            "host_organization",
            "organization",
            &record.host_organization,
        )
        .map_err(within(at.clone()))?;
        let (key, fields) = program_fields(record, host).map_err(within(at))?;
        let mut row = program::ActiveModel {
            key: Set(key.as_str().to_owned()),
            ..Default::default()
        };
        fields.write_to(&mut row);
        as_stored!(row, stored(record.stored));
        insert_all(txn, vec![row]).await?;
        report.programs.created += 1;
        tick();
    }
    let mut programs_of = HashMap::new();
    let mut rows = Vec::with_capacity(document.activities.len());
    for (i, record) in document.activities.iter().enumerate() {
        let at = format!("activities[{i}]");
        let program_id = id_of(&ids.programs, "program", "program", &record.program).map_err(within(at.clone()))?;
        let organization = id_of(&ids.organizations, "organization", "organization", &record.organization)
            .map_err(within(at.clone()))?;
        let (key, fields) = activity_fields(record, organization).map_err(within(at))?;
        programs_of.insert(record.key.as_str(), program_id);
        let mut row = activity::ActiveModel {
            key: Set(key.as_str().to_owned()),
            program_id: Set(program_id),
            ..Default::default()
        };
        fields.write_to(&mut row);
        as_stored!(row, stored(record.stored));
        rows.push(row);
        tick();
    }
    report.activities.created = rows.len();
    insert_all(txn, rows).await?;

    let order = dependency_order(
        &document.sessions,
        |r| &r.key,
        |r| r.linked_session.as_deref(),
        "sessions",
    )?;
    let mut rows = Vec::with_capacity(order.len());
    for i in order {
        let record = &document.sessions[i];
        let at = format!("sessions[{i}]");
        let place = || -> Result<(i64, i64, i64, Zone, Option<i64>)> {
            let activity = id_of(&ids.activities, "activity", "activity", &record.activity)?;
            let venue = id_of(&ids.venues, "venue", "venue", &record.venue)?;
            let linked = match &record.linked_session {
                Some(key) => Some(id_of(&ids.sessions, "linked_session", "session", key)?),
                None => None,
            };
            let program = programs_of.get(record.activity.as_str()).copied().unwrap_or_default();
            let zone = zones
                .get(record.venue.as_str())
                .copied()
                .unwrap_or_else(|| Zone::from_stored("UTC"));
            Ok((activity, program, venue, zone, linked))
        };
        let (activity_id, program_id, venue_id, zone, linked) = place().map_err(within(at.clone()))?;
        let (key, fields) = session_fields(record, venue_id, zone, linked).map_err(within(at))?;
        let mut row = session::ActiveModel {
            key: Set(key.as_str().to_owned()),
            program_id: Set(program_id),
            activity_id: Set(activity_id),
            ..Default::default()
        };
        fields.write_to(&mut row);
        as_stored!(row, stored(record.stored));
        row.sequence = Set(record.sequence.unwrap_or_default());
        row.deleted_at = Set(record.deleted_at);
        rows.push(row);
        tick();
    }
    report.sessions.created = rows.len();
    insert_all(txn, rows).await?;

    teams(txn, document, &ids, report, tick).await?;
    volunteers(txn, document, &ids, report, tick).await?;
    Ok(ids)
}

async fn organizations(
    txn: &DatabaseTransaction,
    document: &Document,
    ids: &Ids,
    report: &mut Report,
    tick: &(dyn Fn() + Sync),
) -> Result<()> {
    let order = dependency_order(
        &document.organizations,
        |r| &r.key,
        |r| r.parent.as_deref(),
        "organizations",
    )?;
    let mut paths = Paths::default();
    let mut rows = Vec::with_capacity(order.len());
    for i in order {
        let record = &document.organizations[i];
        let at = format!("organizations[{i}]");
        let parent = match &record.parent {
            Some(key) => Some(id_of(&ids.organizations, "parent", "organization", key).map_err(within(at.clone()))?),
            None => None,
        };
        let (key, fields) = organization_fields(record).map_err(within(at))?;
        let stored = stored(record.stored);
        let path = paths.place(&record.key, record.parent.as_deref(), stored.id);
        let mut row = organization::ActiveModel {
            key: Set(key.as_str().to_owned()),
            parent_id: Set(parent),
            path: Set(path),
            ..Default::default()
        };
        fields.write_to(&mut row);
        as_stored!(row, stored);
        rows.push(row);
        tick();
    }
    report.organizations.created = rows.len();
    insert_all(txn, rows).await
}

/// Restores the venues; returns each one's zone, by key.
async fn venues<'a>(
    txn: &DatabaseTransaction,
    document: &'a Document,
    ids: &Ids,
    report: &mut Report,
    tick: &(dyn Fn() + Sync),
) -> Result<HashMap<&'a str, Zone>> {
    let mut zones = HashMap::with_capacity(document.venues.len());
    let mut rows = Vec::with_capacity(document.venues.len());
    for (i, record) in document.venues.iter().enumerate() {
        let at = format!("venues[{i}]");
        let organization = match &record.organization {
            Some(key) => {
                Some(id_of(&ids.organizations, "organization", "organization", key).map_err(within(at.clone()))?)
            }
            None => None,
        };
        let (key, fields) = venue_fields(record, organization).map_err(within(at))?;
        zones.insert(record.key.as_str(), fields.zone);
        let mut row = venue::ActiveModel {
            key: Set(key.as_str().to_owned()),
            ..Default::default()
        };
        fields.write_to(&mut row);
        as_stored!(row, stored(record.stored));
        rows.push(row);
        tick();
    }
    report.venues.created = rows.len();
    insert_all(txn, rows).await?;
    Ok(zones)
}

async fn teams(
    txn: &DatabaseTransaction,
    document: &Document,
    ids: &Ids,
    report: &mut Report,
    tick: &(dyn Fn() + Sync),
) -> Result<()> {
    let order = dependency_order(&document.teams, |r| &r.key, |r| r.parent.as_deref(), "teams")?;
    let mut paths = Paths::default();
    let mut rows = Vec::with_capacity(order.len());
    for i in order {
        let record = &document.teams[i];
        let at = format!("teams[{i}]");
        let place = || -> Result<(i64, Option<i64>)> {
            let organization = id_of(&ids.organizations, "organization", "organization", &record.organization)?;
            let parent = match &record.parent {
                Some(key) => Some(id_of(&ids.teams, "parent", "team", key)?),
                None => None,
            };
            Ok((organization, parent))
        };
        let (organization, parent) = place().map_err(within(at.clone()))?;
        let (key, fields) = team_fields(record, organization).map_err(within(at))?;
        let stored = stored(record.stored);
        let path = paths.place(&record.key, record.parent.as_deref(), stored.id);
        let mut row = team::ActiveModel {
            key: Set(key.as_str().to_owned()),
            parent_id: Set(parent),
            path: Set(path),
            ..Default::default()
        };
        fields.write_to(&mut row);
        as_stored!(row, stored);
        rows.push(row);
        tick();
    }
    report.teams.created = rows.len();
    insert_all(txn, rows).await
}

async fn volunteers(
    txn: &DatabaseTransaction,
    document: &Document,
    ids: &Ids,
    report: &mut Report,
    tick: &(dyn Fn() + Sync),
) -> Result<()> {
    use crate::store::volunteers::Membership;
    use entity::{qualification, team_membership, unavailability};

    let mut people = Vec::with_capacity(document.volunteers.len());
    let mut memberships = Vec::new();
    let mut qualifications = Vec::new();
    let mut away = Vec::new();
    for (i, record) in document.volunteers.iter().enumerate() {
        let at = format!("volunteers[{i}]");
        let place = || -> Result<(i64, Vec<Membership>)> {
            let organization = id_of(&ids.organizations, "organization", "organization", &record.organization)?;
            let teams = record
                .teams
                .iter()
                .enumerate()
                .map(|(t, m)| {
                    Ok(Membership {
                        team_id: id_of(&ids.teams, &format!("teams[{t}].team"), "team", &m.team)?,
                        leader: m.leader,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((organization, teams))
        };
        let (organization, teams) = place().map_err(within(at.clone()))?;
        let (key, fields, details) = volunteer_fields(record, organization, teams).map_err(within(at))?;
        let stored = stored(record.stored);
        let mut row = volunteer::ActiveModel {
            key: Set(key.as_str().to_owned()),
            feed_token: Set(Some(record.feed_token.clone().unwrap_or_else(crate::auth::feed_token))),
            page_token: Set(Some(record.page_token.clone().unwrap_or_else(crate::auth::feed_token))),
            ..Default::default()
        };
        fields.write_to(&mut row);
        as_stored!(row, stored);
        people.push(row);
        memberships.extend(details.teams.into_iter().map(|m| team_membership::ActiveModel {
            team_id: Set(m.team_id),
            volunteer_id: Set(stored.id),
            leader: Set(m.leader),
        }));
        qualifications.extend(details.qualifications.into_iter().map(|q| qualification::ActiveModel {
            volunteer_id: Set(stored.id),
            name: Set(q.name),
            valid_from: Set(q.valid_from),
            valid_until: Set(q.valid_until),
            ..Default::default()
        }));
        for (a, record) in details.unavailable.into_iter().zip(&record.unavailable) {
            let mut row = unavailability::ActiveModel {
                volunteer_id: Set(stored.id),
                starts_at: Set(a.window.start()),
                ends_at: Set(a.window.end()),
                reason: Set(a.reason),
                ..Default::default()
            };
            if let Some(id) = record.id {
                row.id = Set(id);
            }
            away.push(row);
        }
        tick();
    }
    report.volunteers.created = people.len();
    insert_all(txn, people).await?;
    insert_all(txn, memberships).await?;
    insert_all(txn, qualifications).await?;
    // Rows with their ids first, so one without (a hand-edited file) cannot take a listed id.
    let (with_ids, without): (Vec<_>, Vec<_>) = away.into_iter().partition(|r| r.id.is_set());
    insert_all(txn, with_ids).await?;
    insert_all(txn, without).await
}

/// Session roles and assignments, after the API tokens that overrides name.
pub(super) async fn staffing(
    txn: &DatabaseTransaction,
    document: &Document,
    ids: &Ids,
    report: &mut Report,
    tick: &(dyn Fn() + Sync),
) -> Result<()> {
    let mut roles_by_key: HashMap<&str, (i64, i64)> = HashMap::with_capacity(document.session_roles.len());
    let mut rows = Vec::with_capacity(document.session_roles.len());
    for (i, record) in document.session_roles.iter().enumerate() {
        let at = format!("session_roles[{i}]");
        let place = || -> Result<(i64, Option<i64>)> {
            let session = id_of(&ids.sessions, "session", "session", &record.session)?;
            let team = match &record.team {
                Some(key) => Some(id_of(&ids.teams, "team", "team", key)?),
                None => None,
            };
            Ok((session, team))
        };
        let (session_id, team_id) = place().map_err(within(at.clone()))?;
        let (key, fields) = role_fields(record, team_id).map_err(within(at))?;
        let stored = stored(record.stored);
        roles_by_key.insert(record.key.as_str(), (stored.id, session_id));
        let mut row = session_role::ActiveModel {
            key: Set(key.as_str().to_owned()),
            session_id: Set(session_id),
            ..Default::default()
        };
        fields.write_to(&mut row);
        as_stored!(row, stored);
        rows.push(row);
        tick();
    }
    report.session_roles.created = rows.len();
    insert_all(txn, rows).await?;

    let mut rows = Vec::with_capacity(document.assignments.len());
    for (i, record) in document.assignments.iter().enumerate() {
        let at = format!("assignments[{i}]");
        let (key, reason, checked_in_at) = assignment_fields(record).map_err(within(at.clone()))?;
        let place = || -> Result<((i64, i64), i64)> {
            let role = roles_by_key.get(record.role.as_str()).copied().ok_or_else(|| {
                Error::field(
                    "role",
                    "not_found",
                    format!("there is no session role with key {:?} in the file", record.role),
                )
            })?;
            let volunteer = id_of(&ids.volunteers, "volunteer", "volunteer", &record.volunteer)?;
            if let Some(by) = record.overridden.as_ref().and_then(|o| o.by)
                && !ids.tokens.contains(&by)
            {
                return Err(Error::field(
                    "overridden.by",
                    "not_found",
                    format!("there is no API token {by} in the file"),
                ));
            }
            Ok((role, volunteer))
        };
        let ((role_id, session_id), volunteer_id) = place().map_err(within(at))?;
        let rules = record.overridden.as_ref().map(|o| o.rules.clone()).unwrap_or_default();
        let mut row = assignment::ActiveModel {
            key: Set(key.as_str().to_owned()),
            role_id: Set(role_id),
            session_id: Set(session_id),
            volunteer_id: Set(volunteer_id),
            status: Set(record.status),
            reason: Set(reason),
            checked_in_at: Set(checked_in_at),
            overridden_rules: Set(serde_json::to_value(&rules).unwrap_or_default()),
            override_reason: Set(record.overridden.as_ref().and_then(|o| o.reason.clone())),
            overridden_by: Set(record.overridden.as_ref().and_then(|o| o.by)),
            conflicts: Set(
                (!record.conflicts.is_empty()).then(|| serde_json::to_value(&record.conflicts).unwrap_or_default())
            ),
            flagged_at: Set(record.flagged_at),
            ..Default::default()
        };
        as_stored!(row, stored(record.stored));
        rows.push(row);
        tick();
    }
    report.assignments.created = rows.len();
    insert_all(txn, rows).await
}
