//! Importing and exporting the staffing part of a document: teams, volunteers, session roles
//! and assignments.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::prelude::{Assignment, SessionRole, Team, Volunteer};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, QueryOrder};

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
use crate::store::roles::{self, RoleFields};
use crate::store::teams::{self, TeamFields};
use crate::store::volunteers::{self, Away, Details, Held, Membership, VolunteerFields};
use crate::store::{Policy, organizations, sessions};
use crate::validate;

pub(super) async fn team(
    txn: &DatabaseTransaction,
    record: &TeamRecord,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<()> {
    validate! {
        key = one(Key::parse("key", &record.key)),
        name = one(text::required("name", &record.name, NAME_MAX)),
        description = one(text::optional_multiline("description", record.description.as_deref(), DESCRIPTION_MAX)),
    }
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
    let fields = TeamFields {
        organization_id: organization.id,
        name,
        description,
    };
    match teams::by_key(txn, key.as_str()).await? {
        None => {
            teams::insert(txn, key, parent.as_ref(), fields, now).await?;
            tally.count(true, None, 1);
        }
        Some(current) => {
            let old = current.version;
            let row = teams::update(txn, current, Some(parent.as_ref()), fields, now).await?;
            tally.count(false, Some(old), row.version);
        }
    }
    Ok(())
}

pub(super) async fn volunteer(
    txn: &DatabaseTransaction,
    record: &VolunteerRecord,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<()> {
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
    let details = Details {
        teams: memberships,
        qualifications,
        unavailable,
    };
    let fields = VolunteerFields {
        name,
        mobile,
        email,
        organization_id: organization.id,
        tags,
    };
    match volunteers::by_key(txn, key.as_str()).await? {
        None => {
            volunteers::insert(txn, key, fields, details, now).await?;
            tally.count(true, None, 1);
        }
        Some(current) => {
            let old = current.version;
            let row = volunteers::update(txn, current, fields, Some(details), now).await?;
            tally.count(false, Some(old), row.version);
        }
    }
    Ok(())
}

pub(super) async fn role(
    txn: &DatabaseTransaction,
    record: &RoleRecord,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<()> {
    validate! {
        key = one(Key::parse("key", &record.key)),
        name = one(text::required("name", &record.name, NAME_MAX)),
        qualifications = one(text::labels("qualifications", &record.qualifications, 16, 64)),
    }
    if !(1..=10_000).contains(&record.needed) {
        return Err(Error::field("needed", "out_of_range", "must be between 1 and 10000"));
    }
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
    let fields = RoleFields {
        name,
        needed: record.needed,
        team_id,
        qualifications,
    };
    match roles::by_key(txn, key.as_str()).await? {
        None => {
            roles::insert(txn, key, session.id, fields, now).await?;
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
            let old = current.version;
            let row = roles::update(txn, current, fields, now).await?;
            tally.count(false, Some(old), row.version);
        }
    }
    Ok(())
}

pub(super) async fn assignment(
    txn: &DatabaseTransaction,
    record: &AssignmentRecord,
    policy: Policy,
    tally: &mut Tally,
) -> Result<()> {
    validate! {
        key = one(Key::parse("key", &record.key)),
        reason = one(text::optional("reason", record.reason.as_deref(), 500)),
        checked_in_at = one(record.checked_in_at.as_deref().map(|t| TimeInput::instant("checked_in_at", t)).transpose()),
    }
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
    let before = assignments::by_key(txn, restored.key.as_str())
        .await?
        .map(|a| a.version);
    let (row, created) = assignments::restore(txn, restored, policy).await?;
    tally.count(created, before, row.version);
    Ok(())
}

/// Every team, volunteer, role and assignment, by key and in a stable order.
pub(super) async fn export(
    conn: &impl ConnectionTrait,
    org_keys: &HashMap<i64, String>,
    session_keys: &HashMap<i64, String>,
) -> Result<(
    Vec<TeamRecord>,
    Vec<VolunteerRecord>,
    Vec<RoleRecord>,
    Vec<AssignmentRecord>,
)> {
    let key = |keys: &HashMap<i64, String>, id: i64| keys.get(&id).cloned().unwrap_or_default();
    let teams = super::export::tree_order(
        Team::find().order_by_asc(entity::team::Column::Key).all(conn).await?,
        |t| t.id,
        |t| t.parent_id,
    );
    let team_keys: HashMap<i64, String> = teams.iter().map(|t| (t.id, t.key.clone())).collect();
    let people = Volunteer::find()
        .order_by_asc(entity::volunteer::Column::Key)
        .all(conn)
        .await?;
    let ids: Vec<i64> = people.iter().map(|v| v.id).collect();
    let mut details = volunteers::details(conn, &ids).await?;
    let volunteer_keys: HashMap<i64, String> = people.iter().map(|v| (v.id, v.key.clone())).collect();
    let roles = SessionRole::find()
        .order_by_asc(entity::session_role::Column::Key)
        .all(conn)
        .await?;
    let role_keys: HashMap<i64, String> = roles.iter().map(|r| (r.id, r.key.clone())).collect();
    let assignments = Assignment::find()
        .order_by_asc(entity::assignment::Column::Key)
        .all(conn)
        .await?;
    Ok((
        teams
            .iter()
            .map(|t| TeamRecord {
                key: t.key.clone(),
                organization: key(org_keys, t.organization_id),
                parent: t.parent_id.map(|p| key(&team_keys, p)),
                name: t.name.clone(),
                description: t.description.clone(),
            })
            .collect(),
        people
            .iter()
            .map(|v| {
                let mut own = details.remove(&v.id).unwrap_or_default();
                own.teams.sort_by_key(|m| key(&team_keys, m.team_id));
                VolunteerRecord {
                    key: v.key.clone(),
                    name: v.name.clone(),
                    mobile: v.mobile.clone(),
                    email: v.email.clone(),
                    organization: key(org_keys, v.organization_id),
                    tags: volunteers::tags(v),
                    teams: own
                        .teams
                        .iter()
                        .map(|m| MembershipRecord {
                            team: key(&team_keys, m.team_id),
                            leader: m.leader,
                        })
                        .collect(),
                    qualifications: own
                        .qualifications
                        .into_iter()
                        .map(|q| QualificationRecord {
                            name: q.name,
                            valid_from: q.valid_from,
                            valid_until: q.valid_until,
                        })
                        .collect(),
                    unavailable: own
                        .unavailable
                        .into_iter()
                        .map(|a| UnavailableRecord {
                            starts_at: a.window.start().to_rfc3339(),
                            ends_at: a.window.end().to_rfc3339(),
                            reason: a.reason,
                        })
                        .collect(),
                }
            })
            .collect(),
        roles
            .iter()
            .filter(|r| session_keys.contains_key(&r.session_id))
            .map(|r| RoleRecord {
                key: r.key.clone(),
                session: key(session_keys, r.session_id),
                name: r.name.clone(),
                needed: r.needed,
                team: r.team_id.map(|t| key(&team_keys, t)),
                qualifications: roles::qualifications(r),
            })
            .collect(),
        assignments
            .iter()
            .filter(|a| session_keys.contains_key(&a.session_id))
            .map(|a| AssignmentRecord {
                key: a.key.clone(),
                role: key(&role_keys, a.role_id),
                volunteer: key(&volunteer_keys, a.volunteer_id),
                status: a.status,
                reason: a.reason.clone(),
                checked_in_at: a.checked_in_at.map(|t| t.to_rfc3339()),
            })
            .collect(),
    ))
}
