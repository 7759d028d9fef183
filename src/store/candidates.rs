//! Ranking volunteers for a session role: who could take the seat, and who has served least.

use std::collections::HashMap;

use entity::prelude::{Qualification, Team, TeamMembership};
use entity::session::Model as Session;
use entity::session_role::Model as Role;
use entity::volunteer::{Column as V, Entity as Volunteers, Model as Volunteer};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::sessions::slot_of;
use super::{Policy, activities, assignments, hours, roles, teams};
use crate::domain::staffing::{self, Facts, Held, Rule, Violation};
use crate::error::Result;

/// The most volunteers a ranking looks at.
pub const POOL_MAX: u64 = 20_000;

/// One volunteer judged for a role.
#[derive(Debug)]
pub struct Candidate {
    pub volunteer: Volunteer,
    /// Hours already assigned in the session's program (active assignments).
    pub hours: f64,
    /// Why the volunteer fits (when eligible).
    pub reasons: Vec<String>,
    /// The rules that exclude the volunteer (empty when eligible).
    pub violations: Vec<Violation>,
}

/// Volunteers who could fill `role`, best first: eligible ones by fewest hours already
/// assigned in the program (to spread the work), then, if asked, the ineligible ones.
///
/// The pool is the members of the role's team (and sub-teams) or, for roles without a
/// team, the volunteers of the organizations below the session's organizer.
pub async fn rank(
    conn: &impl ConnectionTrait,
    role: &Role,
    session: &Session,
    organizer_path: &str,
    policy: Policy,
    include_ineligible: bool,
) -> Result<Vec<Candidate>> {
    let team = match role.team_id {
        Some(id) => Some(teams::get(conn, id).await?),
        None => None,
    };
    let mut pool = Volunteers::find().order_by_asc(V::Id).limit(POOL_MAX);
    pool = match &team {
        Some(team) => pool.filter(V::Id.in_subquery(teams::members_within(&team.path))),
        None => pool.filter(V::OrganizationId.in_subquery(activities::organizations_within(organizer_path))),
    };
    let pool = pool.all(conn).await?;
    let ids: Vec<i64> = pool.iter().map(|v| v.id).collect();
    let slot = slot_of(session);
    let memberships = memberships(conn, &ids).await?;
    let held = held(conn, &ids).await?;
    let calendars = assignments::calendars(conn, &ids, slot, policy.travel_buffer).await?;
    let assigned = hours::assigned_in_program(conn, &ids, session.program_id).await?;
    let required = roles::qualifications(role);
    let mut ranked = Vec::with_capacity(pool.len());
    for volunteer in pool {
        let teams_of = memberships.get(&volunteer.id).map(Vec::as_slice).unwrap_or_default();
        let paths: Vec<String> = teams_of.iter().map(|t| t.path.clone()).collect();
        let qualifications = held.get(&volunteer.id).map(Vec::as_slice).unwrap_or_default();
        let facts = Facts {
            now: policy.now,
            travel_buffer: policy.travel_buffer,
            slot,
            // Seats and the session's state concern the role, not the volunteer.
            session_cancelled: false,
            needed: 1,
            filled: 0,
            team: team.as_ref().map(|t| (t.id, t.path.as_str())),
            required: &required,
            member_of: &paths,
            held: qualifications,
            commitments: calendars
                .commitments
                .get(&volunteer.id)
                .map(Vec::as_slice)
                .unwrap_or_default(),
            unavailable: calendars
                .unavailable
                .get(&volunteer.id)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        };
        let violations: Vec<Violation> = staffing::check(&facts)
            .into_iter()
            .filter(|v| v.rule != Rule::SessionEnded)
            .collect();
        if !violations.is_empty() && !include_ineligible {
            continue;
        }
        let hours = assigned.get(&volunteer.id).copied().unwrap_or(0.0);
        let reasons = if violations.is_empty() {
            fits(team.as_ref(), teams_of, &required, qualifications, hours)
        } else {
            Vec::new()
        };
        ranked.push(Candidate {
            volunteer,
            hours,
            reasons,
            violations,
        });
    }
    ranked.sort_by(|a, b| {
        (a.violations.len(), a.hours, a.volunteer.id)
            .partial_cmp(&(b.violations.len(), b.hours, b.volunteer.id))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(ranked)
}

/// Why an eligible volunteer fits, for people.
fn fits(
    team: Option<&entity::team::Model>,
    teams_of: &[entity::team::Model],
    required: &[String],
    held: &[Held],
    hours: f64,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(team) = team
        && let Some(member) = teams_of.iter().find(|t| t.path.starts_with(&team.path))
    {
        reasons.push(format!("member of {}", member.name));
    }
    for name in required {
        if let Some(q) = held.iter().find(|q| q.name == *name) {
            reasons.push(match q.valid_until {
                Some(until) => format!("holds {name} (valid until {until})"),
                None => format!("holds {name}"),
            });
        }
    }
    reasons.push("free at that time".to_owned());
    reasons.push(format!("{hours:.1} hours already assigned in this program"));
    reasons
}

async fn memberships(
    conn: &impl ConnectionTrait,
    volunteers: &[i64],
) -> Result<HashMap<i64, Vec<entity::team::Model>>> {
    use entity::team_membership::Column as M;
    let mut found: HashMap<i64, Vec<entity::team::Model>> = HashMap::new();
    for chunk in volunteers.chunks(500) {
        let rows = TeamMembership::find()
            .filter(M::VolunteerId.is_in(chunk.iter().copied()))
            .find_also_related(Team)
            .all(conn)
            .await?;
        for (membership, team) in rows {
            if let Some(team) = team {
                found.entry(membership.volunteer_id).or_default().push(team);
            }
        }
    }
    Ok(found)
}

async fn held(conn: &impl ConnectionTrait, volunteers: &[i64]) -> Result<HashMap<i64, Vec<Held>>> {
    use entity::qualification::Column as Q;
    let mut found: HashMap<i64, Vec<Held>> = HashMap::new();
    for chunk in volunteers.chunks(500) {
        for q in Qualification::find()
            .filter(Q::VolunteerId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
        {
            found.entry(q.volunteer_id).or_default().push(Held {
                name: q.name,
                valid_from: q.valid_from,
                valid_until: q.valid_until,
            });
        }
    }
    Ok(found)
}
