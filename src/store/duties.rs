//! What the personal pages show: a volunteer's assignments with their team and its leaders,
//! and the roster of a team's members for its leader.

use std::collections::{HashMap, HashSet};

use entity::prelude::{Assignment, SessionRole, Team, TeamMembership, Volunteer};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::feeds::{self, EventRow, Scope, Window};
use super::teams;
use crate::error::Result;

/// One assignment of a volunteer, with whom they serve under.
#[derive(Clone, Debug)]
pub struct Duty {
    /// The session and the assignment.
    pub row: EventRow,
    /// The team the role asks for, else the volunteer's first team: id and name.
    pub team: Option<(i64, String)>,
    /// The names of that team's leaders.
    pub leaders: Vec<String>,
}

/// A volunteer's assignments in `window`, in start order.
pub async fn of_volunteer(conn: &impl ConnectionTrait, volunteer_id: i64, window: &Window) -> Result<Vec<Duty>> {
    let rows = feeds::events(conn, &Scope::Volunteer(volunteer_id), window).await?;
    let assignment_ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.assignment.as_ref().map(|a| a.id))
        .collect();
    let assignments = Assignment::find()
        .filter(entity::assignment::Column::Id.is_in(assignment_ids))
        .all(conn)
        .await?;
    let role_ids: HashSet<i64> = assignments.iter().map(|a| a.role_id).collect();
    let roles: HashMap<i64, Option<i64>> = SessionRole::find()
        .filter(entity::session_role::Column::Id.is_in(role_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.id, r.team_id))
        .collect();
    let own_team = TeamMembership::find()
        .filter(entity::team_membership::Column::VolunteerId.eq(volunteer_id))
        .order_by_asc(entity::team_membership::Column::TeamId)
        .one(conn)
        .await?
        .map(|m| m.team_id);
    let team_of: HashMap<i64, Option<i64>> = assignments
        .iter()
        .map(|a| (a.id, roles.get(&a.role_id).copied().flatten().or(own_team)))
        .collect();
    let team_ids: Vec<i64> = team_of
        .values()
        .flatten()
        .copied()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let names: HashMap<i64, String> = Team::find()
        .filter(entity::team::Column::Id.is_in(team_ids.clone()))
        .all(conn)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let leaders = teams::leaders(conn, &team_ids).await?;
    let people = names_of(conn, leaders.iter().map(|(_, v)| *v)).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let team = row
                .assignment
                .as_ref()
                .and_then(|a| team_of.get(&a.id).copied().flatten());
            Duty {
                team: team.map(|id| (id, names.get(&id).cloned().unwrap_or_default())),
                leaders: leaders
                    .iter()
                    .filter(|(t, _)| Some(*t) == team)
                    .filter_map(|(_, v)| people.get(v).map(|(name, _)| name.clone()))
                    .collect(),
                row,
            }
        })
        .collect())
}

/// One member's assignment, as the team leader sees it.
#[derive(Clone, Debug)]
pub struct RosterEntry {
    /// The session and the assignment.
    pub row: EventRow,
    /// The volunteer.
    pub volunteer_id: i64,
    /// Their name.
    pub name: String,
    /// Their mobile, if known (to be shown masked).
    pub mobile: Option<String>,
}

/// The assignments of the members of the team at `path` (and its sub-teams) in `window`, in
/// start order.
pub async fn roster(conn: &impl ConnectionTrait, path: &str, window: &Window) -> Result<Vec<RosterEntry>> {
    let rows = feeds::events(conn, &Scope::Members(path.to_owned()), window).await?;
    let assignment_ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.assignment.as_ref().map(|a| a.id))
        .collect();
    let whose: HashMap<i64, i64> = Assignment::find()
        .filter(entity::assignment::Column::Id.is_in(assignment_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a.volunteer_id))
        .collect();
    let people = names_of(conn, whose.values().copied()).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let volunteer_id = *whose.get(&row.assignment.as_ref()?.id)?;
            let (name, mobile) = people.get(&volunteer_id)?.clone();
            Some(RosterEntry {
                row,
                volunteer_id,
                name,
                mobile,
            })
        })
        .collect())
}

/// Names and mobiles of volunteers by id.
async fn names_of(
    conn: &impl ConnectionTrait,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, (String, Option<String>)>> {
    let ids: HashSet<i64> = ids.collect();
    Ok(Volunteer::find()
        .filter(entity::volunteer::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|v| (v.id, (v.name, v.mobile)))
        .collect())
}
