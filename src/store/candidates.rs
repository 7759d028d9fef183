//! Ranking volunteers for a session role: who could take the seat, and who has served least.

use std::collections::HashMap;

use entity::prelude::{Qualification, Team, TeamMembership};
use entity::session::Model as Session;
use entity::session_role::Model as Role;
use entity::volunteer::{Column as V, Entity as Volunteers, Model as Volunteer};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Policy, activities, assignments, hours, judge, teams};
use crate::domain::staffing::{self, Facts, Held, Person, Violation};
use crate::error::Result;

/// The most volunteers a ranking looks at.
pub const POOL_MAX: u64 = 20_000;

/// One volunteer judged for a role.
#[derive(Debug)]
pub struct Candidate {
    pub volunteer: Volunteer,
    /// Hours already assigned in the session's program (active assignments).
    pub hours: f64,
    /// Why the volunteer fits, one line per rule (when eligible).
    pub reasons: Vec<String>,
    /// The rules that exclude the volunteer (empty when eligible).
    pub violations: Vec<Violation>,
}

/// Volunteers who could fill `role`, best first: eligible ones by fewest hours already
/// assigned in the program (to spread the work), then, if asked, the ineligible ones.
///
/// The pool is the members of the role's team (and sub-teams) or, for roles without a
/// team, the volunteers of the organizations below the session's organizer; `within` narrows
/// it to the volunteers of the organizations the caller manages, since only those may be
/// assigned by them. Each is judged by the rules an assignment is judged by, on the seat
/// read as the assignment reads it: eligible means the assignment would be made now.
pub async fn rank(
    conn: &impl ConnectionTrait,
    role: &Role,
    session: &Session,
    organizer_path: &str,
    within: Option<&str>,
    policy: Policy,
    include_ineligible: bool,
) -> Result<Vec<Candidate>> {
    let seat = judge::seat(conn, role.id, session.id).await?;
    let mut pool = Volunteers::find().order_by_asc(V::Id).limit(POOL_MAX);
    pool = match &seat.team {
        Some(team) => pool.filter(V::Id.in_subquery(teams::members_within(&team.path))),
        None => pool.filter(V::OrganizationId.in_subquery(activities::organizations_within(organizer_path))),
    };
    if let Some(path) = within {
        pool = pool.filter(V::OrganizationId.in_subquery(activities::organizations_within(path)));
    }
    let pool = pool.all(conn).await?;
    let ids: Vec<i64> = pool.iter().map(|v| v.id).collect();
    let memberships = memberships(conn, &ids).await?;
    let held = held(conn, &ids).await?;
    let calendars = assignments::calendars(conn, &ids, seat.slot, policy.travel_buffer).await?;
    let assigned = hours::assigned_in_program(conn, &ids, session.program_id).await?;
    let mut ranked = Vec::with_capacity(pool.len());
    for volunteer in pool {
        let paths = memberships.get(&volunteer.id).map(Vec::as_slice).unwrap_or_default();
        let facts = Facts {
            now: policy.now,
            travel_buffer: policy.travel_buffer,
            seat: &seat,
            person: Person {
                member_of: paths,
                held: held.get(&volunteer.id).map(Vec::as_slice).unwrap_or_default(),
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
            },
        };
        let violations = staffing::check(&facts);
        if !violations.is_empty() && !include_ineligible {
            continue;
        }
        let hours = assigned.get(&volunteer.id).copied().unwrap_or(0.0);
        let reasons = if violations.is_empty() {
            let mut reasons = staffing::kept(&facts);
            reasons.push(format!("{hours:.1} hours already assigned in this program"));
            reasons
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

/// The paths of the teams each of `volunteers` belongs to.
async fn memberships(conn: &impl ConnectionTrait, volunteers: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
    use entity::team_membership::Column as M;
    let mut found: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in volunteers.chunks(500) {
        let rows = TeamMembership::find()
            .filter(M::VolunteerId.is_in(chunk.iter().copied()))
            .find_also_related(Team)
            .all(conn)
            .await?;
        for (membership, team) in rows {
            if let Some(team) = team {
                found.entry(membership.volunteer_id).or_default().push(team.path);
            }
        }
    }
    Ok(found)
}

/// The qualifications each of `volunteers` holds.
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
