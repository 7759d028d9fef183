//! Importing and exporting the staffing part of a document: teams, volunteers, session roles
//! and assignments.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use super::format::{
    AssignmentRecord, MembershipRecord, QualificationRecord, RoleRecord, TeamRecord, UnavailableRecord, VolunteerRecord,
};
use super::import::{Tally, missing};
use crate::domain::contact;
use crate::domain::field::one;
use crate::domain::key::Key;
use crate::domain::text::{self, DESCRIPTION_MAX, NAME_MAX};
use crate::domain::time::TimeInput;
use crate::error::{Error, Result};
use crate::store::assignments::{self, Restored};
use crate::store::audit::Audit;
use crate::store::roles::{self, RoleFields};
use crate::store::teams::{self, TeamFields};
use crate::store::volunteers::{self, Away, Details, Held, Membership, VolunteerFields};
use crate::store::{Policy, organizations, sessions};
use crate::validate;

pub(super) async fn team(
    txn: &DatabaseTransaction,
    audit: &Audit,
    record: &TeamRecord,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<()> {
    let organization = organizations::by_key(txn, &record.organization)
        .await?
        .ok_or_else(|| missing("organization", "organization", &record.organization))?;
    let parent = match &record.parent {
        Some(key) => Some(
            teams::by_key(txn, key)
                .await?
                .ok_or_else(|| missing("parent", "team", key))?,
        ),
        None => None,
    };
    let (key, fields) = team_fields(record, organization.id)?;
    match teams::by_key(txn, key.as_str()).await? {
        None => {
            let row = teams::insert(txn, key, parent.as_ref(), fields, now).await?;
            audit.created(txn, &row).await?;
            tally.count(true, None, 1);
        }
        Some(current) => {
            let (old, before) = (current.version, current.clone());
            let row = teams::update(txn, current, Some(parent.as_ref()), fields, now).await?;
            audit.updated(txn, &before, &row).await?;
            tally.count(false, Some(old), row.version);
        }
    }
    Ok(())
}

/// A team's key and fields, checked.
pub(super) fn team_fields(record: &TeamRecord, organization_id: i64) -> Result<(Key, TeamFields)> {
    validate! {
        key = one(Key::parse("key", &record.key)),
        name = one(text::required("name", &record.name, NAME_MAX)),
        description = one(text::optional_multiline("description", record.description.as_deref(), DESCRIPTION_MAX)),
    }
    let fields = TeamFields {
        organization_id,
        name,
        description,
    };
    Ok((key, fields))
}

pub(super) async fn volunteer(
    txn: &DatabaseTransaction,
    audit: &Audit,
    record: &VolunteerRecord,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<()> {
    let organization = organizations::by_key(txn, &record.organization)
        .await?
        .ok_or_else(|| missing("organization", "organization", &record.organization))?;
    let mut memberships = Vec::with_capacity(record.teams.len());
    for (i, MembershipRecord { team, leader }) in record.teams.iter().enumerate() {
        let found = teams::by_key(txn, team)
            .await?
            .ok_or_else(|| missing(&format!("teams[{i}].team"), "team", team))?;
        memberships.push(Membership {
            team_id: found.id,
            leader: *leader,
        });
    }
    let (key, fields, details) = volunteer_fields(record, organization.id, memberships)?;
    match volunteers::by_key(txn, key.as_str()).await? {
        None => {
            let row = volunteers::insert(txn, key, fields, details, now).await?;
            audit.created(txn, &row).await?;
            tally.count(true, None, 1);
        }
        Some(current) => {
            let (old, before) = (current.version, current.clone());
            let row = volunteers::update(txn, current, fields, Some(details), now).await?;
            audit.updated(txn, &before, &row).await?;
            tally.count(false, Some(old), row.version);
        }
    }
    Ok(())
}

/// A volunteer's key, fields and lists, checked.
pub(super) fn volunteer_fields(
    record: &VolunteerRecord,
    organization_id: i64,
    teams: Vec<Membership>,
) -> Result<(Key, VolunteerFields, Details)> {
    let blank = |v: &Option<String>| v.as_deref().filter(|v| !v.trim().is_empty()).map(str::to_owned);
    validate! {
        key = one(Key::parse("key", &record.key)),
        name = one(text::required("name", &record.name, NAME_MAX)),
        mobile = one(blank(&record.mobile).map(|m| contact::mobile("mobile", &m)).transpose()),
        email = one(blank(&record.email).map(|m| contact::email("email", &m)).transpose()),
        tags = one(text::labels("tags", &record.tags, 16, 32)),
        qualifications = volunteers::parse_all(&record.qualifications, |i, q: &QualificationRecord| {
            Held::parse(&format!("qualifications[{i}]"), &q.name, q.valid_from, q.valid_until)
        }),
        unavailable = volunteers::parse_all(&record.unavailable, |i, u: &UnavailableRecord| {
            Away::parse(&format!("unavailable[{i}]"), &u.starts_at, &u.ends_at, u.reason.as_deref())
        }),
    }
    let details = Details {
        teams,
        qualifications,
        unavailable,
    };
    let fields = VolunteerFields {
        name,
        mobile,
        email,
        organization_id,
        tags,
    };
    Ok((key, fields, details))
}

pub(super) async fn role(
    txn: &DatabaseTransaction,
    audit: &Audit,
    record: &RoleRecord,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<()> {
    let session = sessions::by_key(txn, &record.session)
        .await?
        .filter(|s| s.deleted_at.is_none())
        .ok_or_else(|| missing("session", "session", &record.session))?;
    let team_id = match &record.team {
        Some(key) => Some(
            teams::by_key(txn, key)
                .await?
                .ok_or_else(|| missing("team", "team", key))?
                .id,
        ),
        None => None,
    };
    let (key, fields) = role_fields(record, team_id)?;
    match roles::by_key(txn, key.as_str()).await? {
        None => {
            let row = roles::insert(txn, key, session.id, fields, now).await?;
            audit.created(txn, &row).await?;
            tally.count(true, None, 1);
        }
        Some(current) if current.session_id != session.id => {
            return Err(Error::field(
                "session",
                "immutable",
                "a role cannot move to another session",
            ));
        }
        Some(current) => {
            let (old, before) = (current.version, current.clone());
            let row = roles::update(txn, current, fields, now).await?;
            audit.updated(txn, &before, &row).await?;
            tally.count(false, Some(old), row.version);
        }
    }
    Ok(())
}

/// A role's key and fields, checked.
pub(super) fn role_fields(record: &RoleRecord, team_id: Option<i64>) -> Result<(Key, RoleFields)> {
    validate! {
        key = one(Key::parse("key", &record.key)),
        name = one(text::required("name", &record.name, NAME_MAX)),
        qualifications = one(text::labels("qualifications", &record.qualifications, 16, 64)),
    }
    if !(1..=10_000).contains(&record.needed) {
        return Err(Error::field("needed", "out_of_range", "must be between 1 and 10000"));
    }
    let fields = RoleFields {
        name,
        needed: record.needed,
        team_id,
        qualifications,
    };
    Ok((key, fields))
}

pub(super) async fn assignment(
    txn: &DatabaseTransaction,
    audit: &Audit,
    record: &AssignmentRecord,
    policy: Policy,
    tally: &mut Tally,
) -> Result<()> {
    let (key, reason, checked_in_at) = assignment_fields(record)?;
    let role = roles::by_key(txn, &record.role)
        .await?
        .ok_or_else(|| missing("role", "session role", &record.role))?;
    let volunteer = volunteers::by_key(txn, &record.volunteer)
        .await?
        .ok_or_else(|| missing("volunteer", "volunteer", &record.volunteer))?;
    let restored = Restored {
        key,
        role_id: role.id,
        session_id: role.session_id,
        volunteer_id: volunteer.id,
        status: record.status,
        reason,
        checked_in_at,
    };
    let before = assignments::by_key(txn, restored.key.as_str()).await?;
    let (row, created) = assignments::restore(txn, restored, policy).await?;
    audit
        .record(
            txn,
            if created { "create" } else { "update" },
            before.as_ref(),
            Some(&row),
        )
        .await?;
    tally.count(created, before.map(|a| a.version), row.version);
    Ok(())
}

/// An assignment's key, reason and check-in time, checked.
pub(super) fn assignment_fields(record: &AssignmentRecord) -> Result<(Key, Option<String>, Option<DateTime<Utc>>)> {
    validate! {
        key = one(Key::parse("key", &record.key)),
        reason = one(text::optional("reason", record.reason.as_deref(), 500)),
        checked_in_at = one(record.checked_in_at.as_deref().map(|t| TimeInput::instant("checked_in_at", t)).transpose()),
    }
    Ok((key, reason, checked_in_at))
}
