//! Service hours: what checked-in assignments of sessions that are over add up to, per
//! volunteer and per team.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::assignment::{Column as A, Entity as Assignments};
use entity::kinds::AssignmentStatus;
use entity::prelude::{Session, Team, TeamMembership};
use entity::session::Column as S;
use entity::volunteer::{Column as V, Entity as Volunteers, Model as Volunteer};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::record::by_ids;
use super::sessions::slot_of;
use super::{organizations, teams};
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
    pub from: Option<DateTime<Utc>>,
    /// Sessions starting before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// One volunteer's service, with what a volunteer record (志愿服务记录) states about it.
#[derive(Clone, Debug)]
pub struct VolunteerHours {
    pub volunteer: Volunteer,
    /// The name of the volunteer's organization.
    pub organization_name: String,
    /// Sessions served (checked in, and over).
    pub sessions: u32,
    pub hours: f64,
    /// What the volunteer did: each activity with the role served in it, in the order first
    /// served, once each.
    pub content: Vec<String>,
    /// The organizations that issue the record: the hosts of the programs served, by id.
    pub issuers: Vec<(i64, String)>,
    /// When the first session served began.
    pub first_start: DateTime<Utc>,
}

/// One team's service: what its members (and its sub-teams' members) served.
#[derive(Clone, Debug)]
pub struct TeamHours {
    pub team: entity::team::Model,
    /// The name of the team's organization.
    pub organization_name: String,
    /// Members who served.
    pub volunteers: u32,
    pub sessions: u32,
    pub hours: f64,
    /// When the first session its members served began.
    pub first_start: Option<DateTime<Utc>>,
}

/// One checked-in assignment of a session that is over.
struct Served {
    volunteer_id: i64,
    role_id: i64,
    activity_id: i64,
    program_id: i64,
    start: DateTime<Utc>,
    hours: f64,
}

/// Service per volunteer as of `now`, most hours first. Only sessions that are over count
/// ([`crate::domain::hours::served`]).
pub async fn by_volunteer(
    conn: &impl ConnectionTrait,
    filter: &HoursFilter,
    now: DateTime<Utc>,
) -> Result<Vec<VolunteerHours>> {
    let mut served = served(conn, filter, now).await?;
    served.sort_by_key(|s| (s.start, s.role_id));
    let names = Names::of(conn, &served).await?;
    let mut rows: BTreeMap<i64, VolunteerHours> = BTreeMap::new();
    let people = by_ids::<entity::volunteer::ActiveModel>(conn, &unique(&served, |s| s.volunteer_id), |v| v.id).await?;
    let homes: Vec<i64> = people.values().map(|v| v.organization_id).collect();
    let organizations = organizations::names(conn, &homes).await?;
    for one in &served {
        let Some(volunteer) = people.get(&one.volunteer_id) else {
            continue;
        };
        let row = rows.entry(one.volunteer_id).or_insert_with(|| VolunteerHours {
            organization_name: organizations
                .get(&volunteer.organization_id)
                .cloned()
                .unwrap_or_default(),
            volunteer: volunteer.clone(),
            sessions: 0,
            hours: 0.0,
            content: Vec::new(),
            issuers: Vec::new(),
            first_start: one.start,
        });
        row.sessions += 1;
        row.hours += one.hours;
        let content = names.content(one);
        if !row.content.contains(&content) {
            row.content.push(content);
        }
        if let Some(issuer) = names.issuer(one.program_id)
            && !row.issuers.contains(&issuer)
        {
            row.issuers.push(issuer);
        }
    }
    let mut rows: Vec<VolunteerHours> = rows.into_values().collect();
    rows.sort_by(|a, b| b.hours.total_cmp(&a.hours).then(a.volunteer.id.cmp(&b.volunteer.id)));
    Ok(rows)
}

/// The checked-in assignments `filter` lets through whose sessions are over at `now`.
async fn served(conn: &impl ConnectionTrait, filter: &HoursFilter, now: DateTime<Utc>) -> Result<Vec<Served>> {
    let mut query = Assignments::find()
        .filter(A::Status.eq(AssignmentStatus::CheckedIn))
        .find_also_related(Session);
    if let Some(program) = filter.program_id {
        query = query.filter(S::ProgramId.eq(program));
    }
    if let Some(from) = filter.from {
        query = query.filter(S::EndsAt.gt(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(S::StartsAt.lt(to));
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
    let mut served = Vec::new();
    for (assignment, session) in query.order_by_asc(A::Id).all(conn).await? {
        let Some(session) = session else { continue };
        let slot = slot_of(&session);
        if let Some(hours) = hours::served(slot, session.all_day, now) {
            served.push(Served {
                volunteer_id: assignment.volunteer_id,
                role_id: assignment.role_id,
                activity_id: session.activity_id,
                program_id: session.program_id,
                start: slot.window.start(),
                hours,
            });
        }
    }
    Ok(served)
}

/// The distinct ids `id` picks from `served`.
fn unique(served: &[Served], id: impl Fn(&Served) -> i64) -> Vec<i64> {
    served.iter().map(id).collect::<BTreeSet<_>>().into_iter().collect()
}

/// The names a record shows for what was served: roles, activities and the programs' hosts.
struct Names {
    roles: HashMap<i64, String>,
    activities: HashMap<i64, String>,
    /// Program id → its host's id and name.
    hosts: HashMap<i64, (i64, String)>,
}

impl Names {
    async fn of(conn: &impl ConnectionTrait, served: &[Served]) -> Result<Self> {
        let roles = by_ids::<entity::session_role::ActiveModel>(conn, &unique(served, |s| s.role_id), |r| r.id).await?;
        let activities =
            by_ids::<entity::activity::ActiveModel>(conn, &unique(served, |s| s.activity_id), |a| a.id).await?;
        let programs =
            by_ids::<entity::program::ActiveModel>(conn, &unique(served, |s| s.program_id), |p| p.id).await?;
        let host_ids: Vec<i64> = programs.values().map(|p| p.host_organization_id).collect();
        let host_names = organizations::names(conn, &host_ids).await?;
        let hosts = programs
            .into_values()
            .map(|p| {
                let name = host_names.get(&p.host_organization_id).cloned().unwrap_or_default();
                (p.id, (p.host_organization_id, name))
            })
            .collect();
        Ok(Self {
            roles: roles.into_iter().map(|(id, r)| (id, r.name)).collect(),
            activities: activities.into_iter().map(|(id, a)| (id, a.title)).collect(),
            hosts,
        })
    }

    /// "Activity（role）".
    fn content(&self, served: &Served) -> String {
        let activity = self.activities.get(&served.activity_id).map_or("", String::as_str);
        match self.roles.get(&served.role_id) {
            Some(role) => format!("{activity}（{role}）"),
            None => activity.to_owned(),
        }
    }

    fn issuer(&self, program_id: i64) -> Option<(i64, String)> {
        self.hosts.get(&program_id).cloned()
    }
}

/// Service per team (members of sub-teams count for their parents too), most hours first.
pub async fn by_team(conn: &impl ConnectionTrait, filter: &HoursFilter, now: DateTime<Utc>) -> Result<Vec<TeamHours>> {
    let people = by_volunteer(conn, filter, now).await?;
    let served: HashMap<i64, &VolunteerHours> = people.iter().map(|p| (p.volunteer.id, p)).collect();
    let mut teams_query = Team::find().order_by_asc(entity::team::Column::Id);
    if let Some(path) = &filter.team_path {
        teams_query = teams_query.filter(entity::team::Column::Path.starts_with(path));
    }
    let all_teams = teams_query.all(conn).await?;
    let homes: Vec<i64> = all_teams.iter().map(|t| t.organization_id).collect();
    let organizations = organizations::names(conn, &homes).await?;
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
            let rows: Vec<&VolunteerHours> = volunteers.iter().filter_map(|v| served.get(v).copied()).collect();
            TeamHours {
                organization_name: organizations.get(&team.organization_id).cloned().unwrap_or_default(),
                volunteers: u32::try_from(volunteers.len()).unwrap_or(u32::MAX),
                sessions: rows.iter().map(|p| p.sessions).sum(),
                // Summed from a positive zero: an empty `sum()` of floats is -0.0.
                hours: rows.iter().fold(0.0, |total, p| total + p.hours),
                first_start: rows.iter().map(|p| p.first_start).min(),
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
            .filter(S::ProgramId.eq(program_id))
            .filter(S::DeletedAt.is_null())
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
