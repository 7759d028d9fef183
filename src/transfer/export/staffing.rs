//! The staffing part of an export: teams, volunteers, session roles and assignments.

use std::collections::HashMap;

use entity::prelude::{Assignment, SessionRole, Team, Unavailability, Volunteer};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

use super::{Keys, key, micros, stored};
use crate::domain::staffing::Rule;
use crate::error::Result;
use crate::store::{roles, volunteers};
use crate::transfer::format::{
    AssignmentRecord, MembershipRecord, OverrideRecord, QualificationRecord, RoleRecord, TeamRecord, UnavailableRecord,
    VolunteerRecord,
};

/// The staffing records, and the keys other records refer to them by.
pub(super) struct Staffing {
    pub teams: Vec<TeamRecord>,
    pub volunteers: Vec<VolunteerRecord>,
    pub roles: Vec<RoleRecord>,
    pub assignments: Vec<AssignmentRecord>,
    pub team_keys: Keys,
    pub volunteer_keys: Keys,
}

/// Every team, volunteer, role and assignment, by key and in a stable order.
pub(super) async fn export(conn: &impl ConnectionTrait, org_keys: &Keys, session_keys: &Keys) -> Result<Staffing> {
    let teams = super::tree_order(
        Team::find().order_by_asc(entity::team::Column::Key).all(conn).await?,
        |t| t.id,
        |t| t.parent_id,
    );
    let team_keys: Keys = teams.iter().map(|t| (t.id, t.key.clone())).collect();
    let people = Volunteer::find()
        .order_by_asc(entity::volunteer::Column::Key)
        .all(conn)
        .await?;
    let ids: Vec<i64> = people.iter().map(|v| v.id).collect();
    let mut details = volunteers::details(conn, &ids).await?;
    let mut away: HashMap<i64, Vec<entity::unavailability::Model>> = HashMap::new();
    for row in Unavailability::find()
        .order_by_asc(entity::unavailability::Column::StartsAt)
        .order_by_asc(entity::unavailability::Column::EndsAt)
        .order_by_asc(entity::unavailability::Column::Id)
        .all(conn)
        .await?
    {
        away.entry(row.volunteer_id).or_default().push(row);
    }
    let volunteer_keys: Keys = people.iter().map(|v| (v.id, v.key.clone())).collect();
    let roles = SessionRole::find()
        .order_by_asc(entity::session_role::Column::Key)
        .all(conn)
        .await?;
    let role_keys: Keys = roles.iter().map(|r| (r.id, r.key.clone())).collect();
    let assignments = Assignment::find()
        .order_by_asc(entity::assignment::Column::Key)
        .all(conn)
        .await?;
    Ok(Staffing {
        teams: teams
            .iter()
            .map(|t| TeamRecord {
                key: t.key.clone(),
                stored: Some(stored(t.id, t.version, t.created_at, t.updated_at)),
                organization: key(org_keys, t.organization_id),
                parent: t.parent_id.map(|p| key(&team_keys, p)),
                name: t.name.clone(),
                description: t.description.clone(),
            })
            .collect(),
        volunteers: people
            .iter()
            .map(|v| {
                let mut own = details.remove(&v.id).unwrap_or_default();
                own.teams.sort_by_key(|m| key(&team_keys, m.team_id));
                own.qualifications.sort();
                VolunteerRecord {
                    key: v.key.clone(),
                    stored: Some(stored(v.id, v.version, v.created_at, v.updated_at)),
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
                    unavailable: away
                        .remove(&v.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|a| UnavailableRecord {
                            id: Some(a.id),
                            starts_at: micros(a.starts_at).to_rfc3339(),
                            ends_at: micros(a.ends_at).to_rfc3339(),
                            reason: a.reason,
                        })
                        .collect(),
                    feed_token: v.feed_token.clone(),
                    page_token: v.page_token.clone(),
                }
            })
            .collect(),
        roles: roles
            .iter()
            .filter(|r| session_keys.contains_key(&r.session_id))
            .map(|r| RoleRecord {
                key: r.key.clone(),
                stored: Some(stored(r.id, r.version, r.created_at, r.updated_at)),
                session: key(session_keys, r.session_id),
                name: r.name.clone(),
                needed: r.needed,
                team: r.team_id.map(|t| key(&team_keys, t)),
                qualifications: roles::qualifications(r),
            })
            .collect(),
        assignments: assignments
            .iter()
            .filter(|a| session_keys.contains_key(&a.session_id))
            .map(|a| {
                let rules: Vec<Rule> = serde_json::from_value(a.overridden_rules.clone()).unwrap_or_default();
                AssignmentRecord {
                    key: a.key.clone(),
                    stored: Some(stored(a.id, a.version, a.created_at, a.updated_at)),
                    role: key(&role_keys, a.role_id),
                    volunteer: key(&volunteer_keys, a.volunteer_id),
                    status: a.status,
                    reason: a.reason.clone(),
                    checked_in_at: a.checked_in_at.map(|t| micros(t).to_rfc3339()),
                    overridden: (!rules.is_empty()).then(|| OverrideRecord {
                        rules,
                        reason: a.override_reason.clone(),
                        by: a.overridden_by,
                    }),
                    conflicts: a
                        .conflicts
                        .clone()
                        .and_then(|c| serde_json::from_value(c).ok())
                        .unwrap_or_default(),
                    flagged_at: a.flagged_at.map(micros),
                }
            })
            .collect(),
        team_keys,
        volunteer_keys,
    })
}
