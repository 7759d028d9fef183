//! Service hours: what checked-in assignments add up to, per volunteer and per team.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use entity::assignment::{Column as A, Entity as Assignments};
use entity::kinds::AssignmentStatus;
use entity::prelude::{Session, Team, TeamMembership};
use entity::volunteer::{Column as V, Entity as Volunteers, Model as Volunteer};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::sessions::slot_of;
use super::teams;
use crate::domain::hours;
use crate::error::Result;

/// Which checked-in assignments count.
#[derive(Clone, Debug, Default)]
pub struct HoursFilter {
    /// Sessions of this program.
    pub program_id: Option<i64>,
    /// Volunteers of organizations under this path.
    pub organization_path: Option<String>,
    /// Volunteers in teams under this path.
    pub team_path: Option<String>,
    /// One volunteer.
    pub volunteer_id: Option<i64>,
    /// Sessions ending after this instant.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Sessions starting before this instant.
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// One volunteer's service.
#[derive(Clone, Debug)]
pub struct VolunteerHours {
    pub volunteer: Volunteer,
    pub sessions: u32,
    pub hours: f64,
}

/// One team's service: what its members (and its sub-teams' members) served.
#[derive(Clone, Debug)]
pub struct TeamHours {
    pub team: entity::team::Model,
    pub volunteers: u32,
    pub sessions: u32,
    pub hours: f64,
}

/// Service per volunteer, most hours first.
pub async fn by_volunteer(conn: &impl ConnectionTrait, filter: &HoursFilter) -> Result<Vec<VolunteerHours>> {
    let mut query = Assignments::find()
        .filter(A::Status.eq(AssignmentStatus::CheckedIn))
        .find_also_related(Session);
    if let Some(program) = filter.program_id {
        query = query.filter(entity::session::Column::ProgramId.eq(program));
    }
    if let Some(from) = filter.from {
        query = query.filter(entity::session::Column::EndsAt.gt(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(entity::session::Column::StartsAt.lt(to));
    }
    let mut volunteers = Query::select().column(V::Id).from(Volunteers).to_owned();
    if let Some(path) = &filter.organization_path {
        volunteers.and_where(V::OrganizationId.in_subquery(super::activities::organizations_within(path)));
    }
    if let Some(path) = &filter.team_path {
        volunteers.and_where(V::Id.in_subquery(teams::members_within(path)));
    }
    if let Some(id) = filter.volunteer_id {
        volunteers.and_where(V::Id.eq(id));
    }
    query = query.filter(A::VolunteerId.in_subquery(volunteers));
    let mut totals: BTreeMap<i64, (u32, f64)> = BTreeMap::new();
    for (assignment, session) in query.order_by_asc(A::Id).all(conn).await? {
        if let Some(session) = session {
            let entry = totals.entry(assignment.volunteer_id).or_default();
            entry.0 += 1;
            entry.1 += hours::planned(slot_of(&session), session.all_day);
        }
    }
    let ids: Vec<i64> = totals.keys().copied().collect();
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        for volunteer in Volunteers::find()
            .filter(V::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
        {
            let (sessions, hours) = totals.get(&volunteer.id).copied().unwrap_or_default();
            rows.push(VolunteerHours {
                volunteer,
                sessions,
                hours,
            });
        }
    }
    rows.sort_by(|a, b| b.hours.total_cmp(&a.hours).then(a.volunteer.id.cmp(&b.volunteer.id)));
    Ok(rows)
}

/// Service per team (members of sub-teams count for their parents too), most hours first.
pub async fn by_team(conn: &impl ConnectionTrait, filter: &HoursFilter) -> Result<Vec<TeamHours>> {
    let people = by_volunteer(conn, filter).await?;
    let served: HashMap<i64, (u32, f64)> = people.iter().map(|p| (p.volunteer.id, (p.sessions, p.hours))).collect();
    let mut teams_query = Team::find().order_by_asc(entity::team::Column::Id);
    if let Some(path) = &filter.team_path {
        teams_query = teams_query.filter(entity::team::Column::Path.starts_with(path));
    }
    let all_teams = teams_query.all(conn).await?;
    let mut members: HashMap<i64, BTreeSet<i64>> = HashMap::new();
    let ids: Vec<i64> = served.keys().copied().collect();
    let by_id: HashMap<i64, &entity::team::Model> = all_teams.iter().map(|t| (t.id, t)).collect();
    for chunk in ids.chunks(500) {
        let rows = TeamMembership::find()
            .filter(entity::team_membership::Column::VolunteerId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        for membership in rows {
            // A member of a sub-team serves every team above it as well.
            let Some(team) = by_id.get(&membership.team_id) else {
                continue;
            };
            for ancestor in team.path.split('/').filter_map(|p| p.parse::<i64>().ok()) {
                members.entry(ancestor).or_default().insert(membership.volunteer_id);
            }
        }
    }
    let mut rows: Vec<TeamHours> = all_teams
        .into_iter()
        .map(|team| {
            let volunteers = members.remove(&team.id).unwrap_or_default();
            let (sessions, hours) = volunteers
                .iter()
                .filter_map(|v| served.get(v))
                .fold((0, 0.0), |(s, h), (vs, vh)| (s + vs, h + vh));
            TeamHours {
                volunteers: u32::try_from(volunteers.len()).unwrap_or(u32::MAX),
                sessions,
                hours,
                team,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.hours.total_cmp(&a.hours).then(a.team.id.cmp(&b.team.id)));
    Ok(rows)
}

/// Hours already assigned (active assignments) to each of `volunteers` in a program.
pub async fn assigned_in_program(
    conn: &impl ConnectionTrait,
    volunteers: &[i64],
    program_id: i64,
) -> Result<HashMap<i64, f64>> {
    let mut assigned: HashMap<i64, f64> = HashMap::new();
    for chunk in volunteers.chunks(500) {
        let rows = Assignments::find()
            .filter(A::VolunteerId.is_in(chunk.iter().copied()))
            .filter(A::Status.is_in(AssignmentStatus::ACTIVE))
            .find_also_related(Session)
            .filter(entity::session::Column::ProgramId.eq(program_id))
            .filter(entity::session::Column::DeletedAt.is_null())
            .all(conn)
            .await?;
        for (assignment, session) in rows {
            if let Some(session) = session {
                *assigned.entry(assignment.volunteer_id).or_default() +=
                    hours::planned(slot_of(&session), session.all_day);
            }
        }
    }
    Ok(assigned)
}
